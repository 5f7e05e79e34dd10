"""The inference mode a model records fits its training; a mode that does not warns once; old dirs keep theirs."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from test_modeldir import save, tiny_unet

from i2i.cli import cli
from i2i.models.inference_mode import mismatch_warning, recommended_mode
from i2i.models.modeldir import load_config
from i2i.models.translator import Translator


@pytest.mark.parametrize("batch_size, batch_norm, mode", [(1, True, "paper"), (4, True, "eval"), (4, False, "paper")])
def test_rule(batch_size, batch_norm, mode):
    chosen, reason = recommended_mode(batch_size, batch_norm)
    assert chosen == mode and reason
    assert mismatch_warning(mode, batch_size, batch_norm) is None
    other = "eval" if mode == "paper" else "paper"
    warning = mismatch_warning(other, batch_size, batch_norm)
    assert warning.startswith("i2i: warning:") and "\n" not in warning and f"{mode} mode would" in warning
    assert mismatch_warning(other, None) is None  # training unknown (old model dirs): no warning


def train(tmp_path, name: str, *options: str):
    args = ["train", "--task", "demo", "--epochs", "1", "--epochs-decay", "0", "--crop-size", "32", "--load-size", "36",
            "--gen-arg", "ngf=4", "--disc-arg", "ndf=4", "--val-every", "0", "--quiet",
            "--out", str(tmp_path / name), *options]
    return CliRunner().invoke(cli, args)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """A few demo pairs, so the tiny trainings below take a handful of steps."""
    from i2i_tasks.demo_data import synthesize

    root = tmp_path_factory.mktemp("demo")
    synthesize(root, "train", count=4, size=36)
    return root


def test_training_records_the_mode_and_why(tmp_path, demo_data):
    for name, batch, mode in (("b1", "1", "paper"), ("b2", "2", "eval")):
        result = train(tmp_path, name, "--batch-size", batch, "--data", str(demo_data))
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
        run = json.loads((tmp_path / name / "config.json").read_text())
        model = load_config(tmp_path / name)
        assert run["inference_mode"] == model["inference_mode"] == mode
        assert run["inference_mode_reason"] == model["inference_mode_reason"] and f"batch size {batch}" in run[
            "inference_mode_reason"]
        assert model["train_batch_size"] == int(batch)
        card = (tmp_path / name / "model" / "README.md").read_text()
        assert f"default inference mode is `{mode}` (trained at batch size {batch}" in card


def test_a_forced_mode_that_does_not_fit_warns_once(tmp_path, demo_data):
    result = train(tmp_path, "forced", "--batch-size", "2", "--mode", "paper", "--data", str(demo_data))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "--mode paper does not fit" in warnings[0]
    model = load_config(tmp_path / "forced")
    assert model["inference_mode"] == "paper" and model["inference_mode_reason"].startswith("--mode paper chosen")


def test_translator_takes_the_recorded_mode_and_warns_on_a_misfit(tmp_path, capsys):
    generator, args = tiny_unet()
    folder = save(tmp_path / "m", generator, "unet", args, inference_mode="eval", train_batch_size=4,
                  inference_mode_reason="trained at batch size 4")
    assert Translator.load(folder, device="cpu").mode == "eval"
    assert capsys.readouterr().err == ""
    assert Translator.load(folder, device="cpu", mode="paper").mode == "paper"
    assert capsys.readouterr().err.count("i2i: warning: --mode paper does not fit") == 1


def test_old_model_dirs_keep_their_mode_and_deliver_raw_outputs(tmp_path, capsys):
    generator, args = tiny_unet()
    folder = save(tmp_path / "old", generator, "unet", args, task="colorization")  # written as before: no new keys
    config = json.loads((folder / "config.json").read_text())
    assert not {"inference_mode_reason", "train_batch_size", "compose"} & config.keys()
    translator = Translator.load(folder, device="cpu", mode="eval")
    assert translator.mode == "eval" and translator.compose is None and capsys.readouterr().err == ""
    assert Translator.load(folder, device="cpu").mode == "paper"
    x = torch.rand(3, 8, 8) * 2 - 1
    assert translator.translate(x).shape == (3, 8, 8)


def test_small_preset_sets_the_cpu_recipe_and_options_override_it():
    from i2i.core.errors import ConfigError
    from i2i.training.presets import apply_preset

    merged = apply_preset("small", {"epochs": None, "batch_size": 1, "generator_args": {"num_downs": 5},
                                    "discriminator_args": {}})
    assert merged["crop_size"] == 64 and merged["epochs"] == 3 and merged["batch_size"] == 1
    assert merged["generator_args"] == {"ngf": 32, "num_downs": 5} and merged["discriminator_args"] == {"ndf": 32}
    assert apply_preset(None, {"epochs": None}) == {"epochs": None}
    with pytest.raises(ConfigError):
        apply_preset("huge", {})
