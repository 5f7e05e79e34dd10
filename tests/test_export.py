"""`i2i export`: ONNX and TorchScript exports match PyTorch (eval mode) at sizes other than the traced one."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import onnxruntime
import pytest
import torch
from click.testing import CliRunner
from test_modeldir import save, tiny_unet

from i2i.cli import cli
from i2i.models.export import METADATA_KEY, default_output, export_model
from i2i.models.translator import Translator

# Sizes that are neither the export's example nor the built-in parity check's; batch sizes 1 and 3; sizes
# that are not multiples of the generator's 32 (padded and cropped inside the graph), down to one pixel.
SHAPES = [(1, 3, 96, 32), (3, 3, 64, 128), (1, 3, 300, 517), (1, 3, 5, 7), (1, 3, 1, 1)]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    generator, args = tiny_unet(num_downs=5, ngf=8, dropout_placement="paper")  # paper mode: random dropout
    return save(tmp_path_factory.mktemp("export") / "model", generator, "unet", args, task="demo")


def pytorch_eval(model: Path, x: torch.Tensor) -> torch.Tensor:
    """What `i2i translate --mode eval` computes for ``x`` (any size)."""
    translator = Translator.load(model, device="cpu", mode="eval")
    return torch.stack(translator.translate_batch(list(x)))


def random_inputs():
    rng = torch.Generator().manual_seed(3)
    return [torch.rand(shape, generator=rng) * 2 - 1 for shape in SHAPES]


def test_onnx_export_matches_pytorch(model, tmp_path):
    out = tmp_path / "tiny.onnx"
    result = CliRunner().invoke(cli, ["export", str(model), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert f"wrote onnx model to {out} (any height and width" in result.stderr
    assert "max abs difference vs PyTorch (eval mode)" in result.output
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for x in random_inputs():
        exported = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
        assert exported.shape == x.shape
        assert (exported - pytorch_eval(model, x)).abs().max().item() < 1e-4, x.shape
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(metadata[METADATA_KEY])["inference_mode"] == "eval"


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_matches_pytorch(model, tmp_path):
    result = export_model(model, "torchscript", tmp_path / "tiny.pt")
    assert result.max_abs_diff < 1e-4 and len(result.shapes) == 2
    extra = {f"{METADATA_KEY}.json": ""}
    module = torch.jit.load(str(result.path), _extra_files=extra)
    assert json.loads(extra[f"{METADATA_KEY}.json"])["generator"]["name"] == "unet"
    with torch.no_grad():
        for x in random_inputs():
            assert (module(x) - pytorch_eval(model, x)).abs().max().item() < 1e-4, x.shape


def test_relative_output_is_reported_absolute(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = export_model(model, "torchscript", "nested.pt", check=False)
    assert result.path == tmp_path / "nested.pt" and result.path.is_file() and result.size_multiple == 32


def test_default_names_and_bad_formats(tmp_path):
    assert default_output("runs/facades-1/model", "onnx") == Path("facades-1.onnx")
    assert default_output("runs/facades-1", "torchscript") == Path("facades-1.pt")
    assert default_output("me/tiny@v2", "onnx") == Path("tiny.onnx")
    result = CliRunner().invoke(cli, ["export", str(tmp_path), "--format", "tflite"])
    assert result.exit_code == 2 and "tflite" in result.output
