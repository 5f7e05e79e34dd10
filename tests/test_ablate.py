"""`i2i ablate`: every configuration of the paper's Tables 1-3 trains and is evaluated on a tiny budget."""

import json

import pytest
from click.testing import CliRunner

from i2i_plugins.ablation import paper_tables
from i2i.cli import cli
from i2i_tasks.demo_data import synthesize

BUDGET = ["--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8", "--disc-arg", "ndf=8",
          "--epochs", "1", "--epochs-decay", "0", "--max-train", "2", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablate")
    for split in ("train", "val", "test"):
        synthesize(root / "data", split, count=4, size=36)
    result = CliRunner().invoke(cli, ["ablate", "--task", "demo", "--data", str(root / "data"), "-o", str(root / "out"),
                                      "--metrics", "l1,ssim", *BUDGET])
    assert result.exit_code == 0, result.output
    return root / "out", result.output


def test_the_tables_cover_the_papers_configurations():
    tables = paper_tables()
    assert [len(rows) for rows in tables.values()] == [5, 4, 4]
    names = {variant.name for rows in tables.values() for _, variant in rows}
    assert len(names) == 10  # Table 2's U-Net rows and Table 3's 70x70 row are Table 1's runs
    assert {"unet-l1", "unet-gan-patch70", "encdec-l1+cgan-patch70", "unet-l1+cgan-image286"} <= names


def test_every_configuration_trains_on_the_shared_budget_and_is_evaluated(ablation):
    out, _ = ablation
    summary = json.loads((out / "ablation.json").read_text())
    names = {name for rows in summary["tables"].values() for name in rows.values()}
    assert len(names) == 10 and set(summary["runs"]) == names and not summary["not_run"]
    for name in summary["runs"]:
        metrics = json.loads((out / name / "eval-test" / "metrics.json").read_text())["metrics"]
        assert set(metrics) == {"l1", "ssim", "lab_hist.L", "lab_hist.a", "lab_hist.b"}
        config = json.loads((out / name / "config.json").read_text())
        assert (config["crop_size"], config["epochs"], config["generator_args"]["ngf"]) == (32, 1, 8)
        log = [json.loads(line) for line in (out / name / "metrics.jsonl").read_text().splitlines()]
        assert log[-1]["step"] == 2  # --max-train 2: two pairs, batch size 1, one epoch
    depth = {json.loads((out / name / "config.json").read_text())["generator_args"]["num_downs"]
             for name in ("unet-l1", "encdec-l1")}
    assert depth == {5}  # the encoder-decoder gets the U-Net's depth for the crop


def test_the_three_tables_and_plots_are_written(ablation):
    out, output = ablation
    text = (out / "ablation.md").read_text()
    for title in ("## Table 1: objective", "## Table 2: generator", "## Table 3: discriminator receptive field"):
        assert title in text
    for label in ("| L1 |", "| GAN |", "| cGAN |", "| L1+GAN |", "| L1+cGAN |", "| Encoder-decoder (L1) |",
                  "| U-Net (L1+cGAN) |", "| 1×1 (pixel) |", "| 16×16 (patch16) |", "| 286×286 (image286) |"):
        assert label in text
    assert "|  | l1 | ssim | lab_hist.L | lab_hist.a | lab_hist.b |" in text
    for number in (1, 2, 3):
        assert (out / f"table{number}" / "lab_hist.png").is_file()
        assert f"(table{number}/lab_hist.png)" in text
    assert "runs evaluated" in output


def test_rerunning_with_other_settings_is_refused(ablation):
    out, _ = ablation
    data = out.parent / "data"
    result = CliRunner().invoke(cli, ["ablate", "--task", "demo", "--data", str(data), "-o", str(out),
                                      *BUDGET, "--seed", "1"])
    assert result.exit_code != 0
    assert "holds runs trained with other settings" in result.output and "Traceback" not in result.output
