"""The authors' released checkpoints: catalogue, download from a (fake) authors' server, safe load, conversion."""

from __future__ import annotations

import ast
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import ROOT
from hub_server import set_offline
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from test_translator import error_line, write_images

from i2i.cli import cli
from i2i.models.modeldir import load_config
from i2i_tasks.released import DEFAULT_BASE_URL, RELEASED
from i2i_plugins import port_layout
from i2i_plugins.layers import meta_build
from i2i_plugins.unet import UNetGenerator

KEYS_TSV = ROOT.parent / "shared" / "reference" / "unet256_batch_keys.tsv"
EXECUTED: list[str] = []


def port_shapes() -> dict[str, tuple[int, ...]]:
    """The released checkpoints' keys and shapes: the reference TSV, or the U-Net's port layout without it."""
    if KEYS_TSV.is_file():
        rows = (line.split("\t") for line in KEYS_TSV.read_text().splitlines() if line)
        return {key: ast.literal_eval(shape) for key, shape in rows}
    return {key: tuple(t.shape) for key, t in meta_build(UNetGenerator).port_state_dict().items()}


def random_port_state() -> dict[str, torch.Tensor]:
    rng = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in port_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=rng) + 0.5
        else:
            state[key] = torch.randn(shape, generator=rng) * 0.05
    return state


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _mark_executed() -> str:
    EXECUTED.append("pickle ran code")
    return "boom"


class Payload:
    """Unpickling this calls :func:`_mark_executed`, unless the loader refuses it."""

    def __reduce__(self):
        return _mark_executed, ()


class FilesServer:
    """The authors' model server, faked: ``GET /<name>`` answers ``files[name]`` or 404."""

    def __init__(self) -> None:
        files = self.files = {}
        self.gets: list[str] = []
        gets = self.gets

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                gets.append(name)
                body = files.get(name)
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/pix2pix/models-pytorch"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def authors(monkeypatch, tmp_path):
    server = FilesServer()
    monkeypatch.setenv("I2I_PIX2PIX_MODELS_URL", server.url)
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "i2i-home"))
    set_offline(monkeypatch, False)
    yield server
    server.close()


def i2i(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_the_catalogue_names_the_five_released_generators():
    assert sorted(RELEASED) == ["pix2pix/day2night", "pix2pix/edges2shoes", "pix2pix/facades_label2photo",
                                "pix2pix/map2sat", "pix2pix/sat2map"]
    facades = RELEASED["pix2pix/facades_label2photo"]
    assert (facades.task, facades.direction, facades.file) == ("facades", "BtoA", "facades_label2photo.pth")
    assert RELEASED["pix2pix/sat2map"].checkpoint().url == f"{DEFAULT_BASE_URL}/sat2map.pth"
    assert [model.direction for model in RELEASED.values() if model.task == "maps"] == ["AtoB", "BtoA"]


def test_the_released_ids_come_from_a_registered_model_source(monkeypatch):
    """The core knows no released id: the paper plugin offers them; without it they are unknown."""
    from i2i.core.plugin_manager import get_registry, reset_plugins
    from i2i.models.resolver import registered_ids, registered_source

    entry = get_registry().get("model_sources", "pix2pix")
    assert entry.source.distribution == "i2i-pix2pix" and entry.source.plugin == "released"
    assert sorted(registered_ids()) == sorted(RELEASED)
    source, name = registered_source("pix2pix/sat2map")
    assert name == "sat2map" and source.models()["sat2map"] == RELEASED["pix2pix/sat2map"].description
    assert registered_source("pix2pix/unknown") is None and registered_source("sat2map") is None
    assert "pix2pix/sat2map" in i2i("info", "pix2pix", "--kind", "model_sources").output
    monkeypatch.setenv("I2I_PLUGINS", "-released")  # every plugin but the paper's model source
    reset_plugins()
    try:
        assert registered_source("pix2pix/sat2map") is None
        line = error_line(i2i("pull", "pix2pix"))
        assert "not a Hub model id" in line and "(none registered)" in line
    finally:
        monkeypatch.delenv("I2I_PLUGINS")
        reset_plugins()


def test_pull_converts_and_translate_uses_it(authors, tmp_path):
    state = random_port_state()
    authors.files["facades_label2photo.pth"] = saved(state)
    result = i2i("pull", "pix2pix/facades_label2photo")
    assert result.exit_code == 0, result.output
    model = Path(result.stdout.strip())
    assert model == tmp_path / "i2i-home" / "models" / "pix2pix" / "facades_label2photo"
    assert sorted(p.name for p in model.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = load_config(model)
    assert (config["task"], config["direction"], config["generator"]["name"]) == ("facades", "BtoA", "unet")
    assert f"{authors.url}/facades_label2photo.pth" in ModelCard.load(model / "README.md").text

    converted = port_layout.unet_to_port(load_file(model / "model.safetensors"))
    assert converted.keys() == state.keys() and all(torch.equal(converted[k], state[k]) for k in state)

    write_images(tmp_path / "labels", ["labels.png"], size=(256, 256))
    result = i2i("translate", "pix2pix/facades_label2photo", str(tmp_path / "labels"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "labels.png").is_file()
    assert authors.gets == ["facades_label2photo.pth"]  # converted once, then used from I2I_HOME


def test_a_pickled_object_is_refused_and_never_run(authors, tmp_path):
    authors.files["sat2map.pth"] = saved({"model.model.0.weight": torch.zeros(1), "evil": Payload()})
    line = error_line(i2i("pull", "pix2pix/sat2map"))
    assert "refused" in line and "pickled objects that are not tensors" in line and "_mark_executed" in line
    assert EXECUTED == []
    models = tmp_path / "i2i-home" / "models" / "pix2pix"
    assert not [path for path in models.rglob("*") if path.is_file()]  # no half-built model, no refused file


def test_wrong_files_and_missing_downloads_are_one_line_errors(authors, monkeypatch):
    authors.files["map2sat.pth"] = saved([torch.zeros(1)])
    assert "is not a state dict of tensors" in error_line(i2i("pull", "pix2pix/map2sat"))
    authors.files["day2night.pth"] = saved(UNetGenerator(num_downs=5, ngf=4).port_state_dict())  # not unet256
    assert "does not match the network" in error_line(i2i("pull", "pix2pix/day2night"))
    line = error_line(i2i("pull", "pix2pix/edges2shoes"))
    assert "cannot download" in line and "I2I_PIX2PIX_MODELS_URL" in line
    set_offline(monkeypatch)
    line = error_line(i2i("pull", "pix2pix/edges2shoes"))
    assert "not converted yet" in line and "HF_HUB_OFFLINE is set" in line


def test_a_pth_that_could_never_load_is_refused_at_import(authors, tmp_path):
    state = random_port_state()
    state["model.model.0.weight"] = state["model.model.0.weight"][:, :1].clone()  # a 1-channel input layer
    authors.files["sat2map.pth"] = saved(state)
    line = error_line(i2i("pull", "pix2pix/sat2map"))
    assert "does not match the network" in line and "model.model.0.weight" in line
    state = random_port_state()
    state["model.model.3.bias"] = torch.full_like(state["model.model.3.bias"], float("nan"))
    authors.files["map2sat.pth"] = saved(state)
    line = error_line(i2i("pull", "pix2pix/map2sat"))
    assert "model.model.3.bias" in line and "NaN or infinite" in line
    assert not [path for path in (tmp_path / "i2i-home" / "models").rglob("*") if path.is_file()]


def test_released_digests_are_pinned_on_first_use(authors, tmp_path):
    import json
    import shutil

    authors.files["edges2shoes.pth"] = saved(random_port_state())
    model = Path(i2i("pull", "pix2pix/edges2shoes").stdout.strip())
    manifest = json.loads((tmp_path / "i2i-home" / "manifest.json").read_text())
    assert set(manifest["models"]) == {"pix2pix/edges2shoes"}
    shutil.rmtree(model)
    other = random_port_state()
    other["model.model.3.bias"] += 1
    authors.files["edges2shoes.pth"] = saved(other)  # the server now serves different weights
    line = error_line(i2i("pull", "pix2pix/edges2shoes"))
    assert "SHA-256" in line or "sha256" in line.lower()
    assert "recorded on first download" in line and "manifest.json" in line
    assert not model.exists()
