"""`i2i test`: translate a split, score it, write the page and metrics.json."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from i2i.cli import cli
from i2i.core.plugin_manager import get_registry
from i2i.data.datasets import PairDataset
from i2i.models.modeldir import model_config, save_model_dir
from i2i.models.translator import Translator
from i2i_tasks.demo_data import synthesize


def _tiny_model(path):
    torch.manual_seed(0)
    args = {"ngf": 8, "num_downs": 5}
    generator = get_registry().resolve("generators", "unet")(**args)
    save_model_dir(path, generator.state_dict(), model_config(
        "unet", args, in_channels=3, out_channels=3, load_size=36, crop_size=32, task="demo", inference_mode="eval"))
    return path


def test_i2i_test_writes_page_and_metrics_matching_a_direct_computation(tmp_path):
    data = tmp_path / "data"
    synthesize(data, "test", count=3, size=40)
    model = _tiny_model(tmp_path / "model")
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["test", str(model), "--data", str(data), "-o", str(out), "-q",
                                      "--metrics", "l1,psnr"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "metrics.json").read_text())
    assert record["count"] == 3 and set(record["metrics"]) == {"l1", "psnr"}
    page = (out / "index.html").read_text()
    assert page.count("<tr><td>") == 3 and "_output.png" in page
    assert len(list((out / "images").glob("*.png"))) == 9

    translator = Translator.load(model)
    dataset = PairDataset(data, "test", load_size=32, crop_size=32, train=False)
    errors = [(translator.translate(item["a"]) - item["b"]).abs().mean() for item in map(dataset.__getitem__, range(3))]
    assert abs(record["metrics"]["l1"] - float(torch.stack(errors).mean())) < 1e-5


def test_i2i_test_missing_split_is_one_line(tmp_path):
    data = tmp_path / "data"
    synthesize(data, "test", count=1, size=40)
    model = _tiny_model(tmp_path / "model")
    result = CliRunner().invoke(cli, ["test", str(model), "--data", str(data), "--split", "val", "-q"])
    assert result.exit_code != 0
    assert "val" in result.output and "Traceback" not in result.output


def test_i2i_test_reports_a_metric_that_cannot_run_as_skipped(tmp_path):
    data = tmp_path / "data"
    synthesize(data, "test", count=1, size=40)
    model = _tiny_model(tmp_path / "model")
    result = CliRunner().invoke(cli, ["test", str(model), "--data", str(data), "-q", "--metrics", "l1,fid"])
    assert result.exit_code == 0, result.output
    assert "skipped fid: needs Inception-v3 weights" in result.output
    record = json.loads((tmp_path / "model-test-test" / "metrics.json").read_text())
    assert set(record["metrics"]) == {"l1"} and "fid" in record["skipped"]
