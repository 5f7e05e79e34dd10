"""`i2i eval`: report files, skipped metrics with reasons, scoring existing outputs, one-line errors."""

import json

import pytest
import torch
from click.testing import CliRunner

from i2i.cli import cli
from i2i.models.modeldir import model_config, save_model_dir
from i2i_tasks.demo_data import synthesize


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    synthesize(root / "data", "test", count=3, size=40)
    torch.manual_seed(0)
    args = {"ngf": 8, "num_downs": 5}
    from i2i.core.plugin_manager import get_registry

    generator = get_registry().resolve("generators", "unet")(**args)
    save_model_dir(root / "model", generator.state_dict(), model_config(
        "unet", args, in_channels=3, out_channels=3, load_size=36, crop_size=32, task="demo", inference_mode="eval"))
    return root


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def test_eval_writes_report_with_plots_and_skipped_metrics(workspace, monkeypatch, tmp_path):
    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    out = workspace / "report"
    result = invoke("eval", workspace / "model", "--data", workspace / "data", "-o", out, "-q",
                    "--metrics", "l1,psnr,lab_hist,colorfulness,fid")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "metrics.json").read_text())
    assert record["count"] == 3
    assert set(record["metrics"]) == {"l1", "psnr", "lab_hist.L", "lab_hist.a", "lab_hist.b", "colorfulness"}
    assert set(record["reference"]) == {"colorfulness"}
    assert "I2I_INCEPTION_WEIGHTS" in record["skipped"]["fid"]
    assert "skipped fid: needs Inception-v3 weights" in result.output
    summary = (out / "summary.md").read_text()
    assert "| lab_hist.L |" in summary and "- fid: skipped: needs Inception-v3 weights" in summary
    page = (out / "index.html").read_text()
    assert page.count("<tr><td>") == 3 and "fid: skipped: needs Inception-v3 weights" in page
    assert record["plots"] == {"lab_hist": "lab_hist.png"} and (out / "lab_hist.png").is_file()
    assert 'src="lab_hist.png"' in page and "![lab_hist](lab_hist.png)" in summary


def test_eval_scores_existing_outputs_matched_by_name(workspace):
    first = workspace / "first"
    assert invoke("eval", workspace / "model", "--data", workspace / "data", "-o", first, "-q",
                  "--metrics", "l1").exit_code == 0
    again = workspace / "again"
    result = invoke("eval", "--task", "demo", "--data", workspace / "data", "--outputs", first / "images",
                    "-o", again, "-q", "--metrics", "l1")  # pairs take the outputs' size (32), not the task's 64
    assert result.exit_code == 0, result.output
    translated = json.loads((first / "metrics.json").read_text())["metrics"]["l1"]
    read_back = json.loads((again / "metrics.json").read_text())["metrics"]["l1"]
    assert read_back == pytest.approx(translated, abs=1 / 127.5)  # outputs were saved as 8-bit PNGs


def test_eval_with_a_model_and_outputs_uses_the_models_sizes(workspace, tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for path in sorted((workspace / "data" / "test").iterdir()):
        (outputs / f"{path.stem}_fake_B.png").write_bytes(path.read_bytes())  # the port's naming; 40x80 px
    result = invoke("eval", workspace / "model", "--data", workspace / "data", "--outputs", outputs, "-q", "--metrics", "l1")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "outputs-eval-test" / "metrics.json").read_text())
    assert record["count"] == 3 and record["title"].endswith(str(outputs))


@pytest.mark.parametrize("args, message", [
    ([], "give a MODEL"),
    (["--outputs", "{empty}", "--task", "demo"], "holds no images"),
    (["--outputs", "{empty}", "--task", "demo", "--size", "32"], "3 of 3 pairs have no output"),
    (["{model}", "--metric-arg", "fid.weights=x.pth", "--metrics", "l1"], "not among the metrics"),
    (["{model}", "--metric-arg", "l1.scale=2", "--metrics", "l1"], "bad arguments"),
    (["{model}", "--metrics", "l1,fidd"], "did you mean 'fid'"),
    (["{model}", "--split", "val"], "missing split folder"),
])
def test_user_errors_are_one_line(workspace, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", model=workspace / "model") for a in args]
    result = invoke("eval", *args, "--data", workspace / "data", "-o", tmp_path / "out", "-q")
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
