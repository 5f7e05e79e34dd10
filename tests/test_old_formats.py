"""Model dirs and run dirs that an earlier i2i wrote still load, translate, evaluate and resume.

The fixture ``tests/fixtures/old_format`` was written once by ``tests/fixtures/make_fixtures.py`` (its
``written_by.json`` names the version) and is never regenerated: these tests read copies of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from i2i.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "old_format"
pytestmark = pytest.mark.usefixtures("home")


def i2i(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def old(tmp_path) -> Path:
    """A copy of the fixture whose run points at the copy's data (its config names the folder it was written in)."""
    copy = tmp_path / "old"
    shutil.copytree(FIXTURE, copy)
    config_path = copy / "run" / "config.json"
    config = json.loads(config_path.read_text())
    config["data"] = str(copy / "data")
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return copy


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("model, checkpoint", [("model", None), ("run", None), ("run", "latest"),
                                               ("run", "epoch_2"), ("run", "best")])
def test_old_models_translate_as_they_did(old, tmp_path, model, checkpoint):
    """The model dir, the run dir and each of its checkpoints (all hold the final generator: best by L1 is
    epoch 2) give the translation the old version wrote, to one grey level."""
    choice = ["--checkpoint", checkpoint] if checkpoint else []
    i2i("translate", old / model, old / "input.png", "-o", tmp_path / "out", "--seed", 0, "--device", "cpu", *choice)
    expected = pixels(FIXTURE / "expected" / "input.png")
    ours = pixels(tmp_path / "out" / "input.png")
    assert ours.shape == expected.shape == (32, 32, 3)
    assert np.abs(ours - expected).max() <= 1


def test_an_old_model_dir_evaluates_to_the_score_its_run_recorded(old, tmp_path):
    """``i2i eval`` of the old model dir on the val pair gives the L1 that the old run's last validation logged."""
    i2i("eval", old / "model", "--task", "demo", "--data", old / "data", "--split", "val", "--metrics", "l1",
        "-o", tmp_path / "report", "--device", "cpu")
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    logged = [json.loads(line) for line in (FIXTURE / "run" / "metrics.jsonl").read_text().splitlines()]
    last_val = [record["val"]["l1"] for record in logged if "val" in record][-1]
    assert report["metrics"]["l1"] == pytest.approx(last_val, abs=1e-4)
    i2i("test", old / "model", "--data", old / "data", "-o", tmp_path / "test-report", "--device", "cpu")
    assert json.loads((tmp_path / "test-report" / "metrics.json").read_text())["count"] == 1


def test_an_old_run_dir_resumes_for_one_more_epoch(old):
    """``--resume`` reads the old latest checkpoint (G, D under its old keys, both optimisers, schedule, RNG) and
    trains epoch 3; the epochs the old version logged stay as they were."""
    run = old / "run"
    before = (run / "metrics.jsonl").read_text()
    i2i("train", "--resume", run, "--epochs-decay", 2, "--device", "cpu", "--quiet")
    after = (run / "metrics.jsonl").read_text()
    assert after.startswith(before)
    added = [json.loads(line) for line in after[len(before):].splitlines()]
    assert {record["epoch"] for record in added} == {3}
    assert [record["step"] for record in added if "loss_d" in record] == [5, 6]
    assert any("val" in record for record in added)


def test_the_python_snippet_of_older_model_cards_still_runs(old):
    """Cards written before the package was grouped say ``from i2i.translator import Translator``; new cards
    say ``i2i.load``. Both load the old model dir and translate as the old version did."""
    import i2i
    from i2i.translator import Translator

    expected = pixels(FIXTURE / "expected" / "input.png")
    for translator in (Translator.load(old / "model", device="cpu", seed=0), i2i.load(old / "model", device="cpu", seed=0)):
        out = np.asarray(translator.translate(old / "input.png").convert("RGB"), dtype=np.int16)
        assert out.shape == expected.shape == (32, 32, 3)
        assert np.abs(out - expected).max() <= 1
