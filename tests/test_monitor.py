"""Run monitoring: the run's index.html, plain progress lines without a terminal, and the trackers."""

import json
import sys
import types
from html.parser import HTMLParser

import pytest
import torch
from click.testing import CliRunner
from torchvision.io import write_png

from i2i.cli import cli
from i2i.core.errors import ConfigError
from i2i.training.monitor import PAGE, RunMonitor, write_page
from i2i.training.rundir import RunDir
from i2i.training.trackers import open_trackers, scalars

STEPS = [{"epoch": 1, "step": s, "lr": 2e-4, "img_per_s": 3.5, "loss_g": 50.0 + s, "loss_g_l1": 49.0 + s,
          "loss_g_cgan": 0.5 + s / 10, "loss_d": 0.6, "loss_d_real": 0.5, "loss_d_fake": 0.7} for s in (2, 4)]
EPOCH_END = {"epoch": 1, "step": 4, "val": {"l1": 0.41, "psnr": 13.25}}


class Page(HTMLParser):
    """What a browser would use: meta refresh, image sources, chart series and the embedded data."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.refresh, self.images, self.series, self.data, self._in_data = None, [], [], "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and attrs.get("http-equiv") == "refresh":
            self.refresh = int(attrs["content"])
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "g" and "data-series" in attrs:
            self.series.append(attrs["data-series"])
        elif tag == "script" and attrs.get("id") == "i2i-data":
            self._in_data = True
        elif tag in ("link", "script") and ("src" in attrs or "href" in attrs):
            raise AssertionError(f"the page loads {attrs}: it must be self-contained")

    def handle_endtag(self, tag):
        self._in_data = False if tag == "script" else self._in_data

    def handle_data(self, data):
        if self._in_data:
            self.data += data


def make_run(tmp_path, records, epochs_with_samples=(1,)) -> RunDir:
    run = RunDir(tmp_path / "run").create()
    run.write_config({"task": "demo", "generator": "unet", "loss": "l1+cgan"})
    for record in records:
        run.log(record)
    for epoch in epochs_with_samples:
        write_png(torch.full((3, 8, 24), 128, dtype=torch.uint8), str(run.sample(epoch)))
    return run


def test_page_shows_curves_validation_and_samples_and_refreshes_until_finished(tmp_path):
    run = make_run(tmp_path, [*STEPS, EPOCH_END])
    with open(run.metrics_path, "a") as handle:
        handle.write('{"epoch": 2, "st\n')  # a line cut short by a crash is skipped
    page = Page(write_page(run, total_epochs=3).read_text())
    assert page.refresh == 30
    assert page.images == ["samples/epoch_0001.png"]
    assert all((run.path / src).is_file() for src in page.images)
    assert {"g_l1", "g_cgan", "d", "d_real", "d_fake", "l1", "psnr"} <= set(page.series)
    data = json.loads(page.data)
    assert data["losses"]["G l1"]["g_l1"] == [[2, 51.0], [4, 53.0]]
    assert data["losses"]["D real / fake"]["d_fake"] == [[2, 0.7], [4, 0.7]]
    assert data["validation"]["psnr"] == [[1, 13.25]] and data["epochs_done"] == 1 and not data["finished"]
    text = (run.path / PAGE).read_text()
    assert "1 of 3 epochs done" in text and "<td>13.25</td>" in text

    run.log({"epoch": 3, "step": 12, "val": {"l1": 0.3, "psnr": 14.0}})
    page = Page(write_page(run, total_epochs=3).read_text())
    assert page.refresh is None and json.loads(page.data)["finished"]


def test_without_a_terminal_a_plain_line_per_logged_step(tmp_path, capsys):
    run = make_run(tmp_path, [])
    monitor = RunMonitor(run, total_epochs=2, steps_per_epoch=4, page_every=3600)
    for record in STEPS:
        run.log(record)
        monitor.log(record)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["epoch 1/2, step 2/8, 3.50 img/s: g 52.000, g_l1 51.000, g_cgan 0.700, d 0.600, d_real 0.500, "
                     "d_fake 0.700",
                     "epoch 1/2, step 4/8, 3.50 img/s: g 54.000, g_l1 53.000, g_cgan 0.900, d 0.600, d_real 0.500, "
                     "d_fake 0.700"]
    assert (run.path / PAGE).is_file()  # the first record writes the page; later ones every page_every seconds
    quiet = RunMonitor(run, total_epochs=2, steps_per_epoch=4, quiet=True)
    quiet.log(STEPS[0])
    assert capsys.readouterr().err == ""


def test_trackers_come_from_the_registry_given(tmp_path):
    class Recorder:
        def __init__(self, run_dir, config):
            self.opened = (run_dir, config)

    registry = types.SimpleNamespace(resolve=lambda kind, name: Recorder if (kind, name) == ("trackers", "mine") else None)
    [tracker] = open_trackers(["mine"], tmp_path, {"task": "demo"}, registry)
    assert isinstance(tracker, Recorder) and tracker.opened == (tmp_path, {"task": "demo"})


def test_tensorboard_tracker_writes_scalars_and_sample_grids(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = make_run(tmp_path, [])
    monitor = RunMonitor(run, 1, 2, open_trackers(["tensorboard"], run.path, {"task": "demo"}), quiet=True)
    for record in (*STEPS, EPOCH_END):
        monitor.log(record)
    monitor.close()
    events = EventAccumulator(str(run.path / "tensorboard")).Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss/g_l1")] == [(2, 51.0), (4, 53.0)]
    assert [e.value for e in events.Scalars("val/psnr")] == [13.25]
    assert "loss/d_real" in events.Tags()["scalars"] and events.Tags()["images"] == ["samples"]


def test_wandb_tracker_through_a_fake_module(tmp_path, monkeypatch):
    calls = []

    class FakeRun:
        def log(self, values, step):
            calls.append(("log", values, step))

        def finish(self):
            calls.append(("finish",))

    fake = types.SimpleNamespace(init=lambda **kwargs: calls.append(("init", kwargs)) or FakeRun(),
                                 Image=lambda path: ("image", path))
    monkeypatch.setitem(sys.modules, "wandb", fake)
    run = make_run(tmp_path, [])
    monitor = RunMonitor(run, 1, 2, open_trackers(["wandb"], run.path, {"task": "demo"}), quiet=True)
    monitor.log(STEPS[0])
    monitor.log(EPOCH_END)
    monitor.close()
    init = calls[0][1]
    assert init["name"] == "run" and init["resume"] == "allow" and init["config"] == {"task": "demo"}
    assert calls[1] == ("log", scalars(STEPS[0]), 2) and calls[1][1]["loss/d_fake"] == 0.7
    assert calls[2] == ("log", {"epoch": 1.0, "val/l1": 0.41, "val/psnr": 13.25}, 4)
    assert calls[3] == ("log", {"samples": ("image", str(run.sample(1)))}, 4) and calls[-1] == ("finish",)


def test_a_missing_tracker_package_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"--tracker wandb needs the wandb package: pip install 'i2i-pix2pix\[wandb\]'"):
        open_trackers(["wandb"], tmp_path, {})
    result = CliRunner().invoke(cli, ["train", "--tracker", "wandbb"])
    assert result.exit_code == 2 and "unknown tracker 'wandbb'" in result.output and "did you mean 'wandb'" in result.output
