"""The port's options end to end on tiny demo data: generators and norms, wgangp, lr policies, preprocessing
(non-square images), initialisation, --num-test. One short run each (32 px, ngf/ndf 8, one or two epochs)."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from i2i.data.augment import PairJitter
from i2i.training.checkpoint import read_checkpoint_meta
from i2i.training.weight_init import init_weights
from i2i_plugins.patchgan import Patch70Discriminator
from test_data import pattern, write_aligned
from test_training import assert_ok, assert_one_line_error, i2i, records, resume, train

pytestmark = pytest.mark.usefixtures("home")  # conftest's fresh I2I_HOME, as test_training's tests have


def config_of(run) -> dict:
    return json.loads((run / "config.json").read_text())


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Aligned pairs whose halves are 36 x 48 (H x W); a val split of a tall (48 x 36) and a wide pair."""
    root = tmp_path_factory.mktemp("wide")
    write_aligned(root / "train", [(pattern(36, 48, i), pattern(36, 48, i + 9)) for i in range(2)])
    write_aligned(root / "val", [(pattern(48, 36, 5), pattern(48, 36, 6)), (pattern(36, 48, 7), pattern(36, 48, 8))])
    return root


def train_resnet(data, out, *args):
    return train(data, "--gen", "resnet_6blocks", "--epochs", 1, "--epochs-decay", 0, "--out", out, *args)


# --- generators, norms, objectives, lr policies, init, test limits ---------------------------------------

def test_resnet_instance_norm_wgangp_step_policy_and_init_in_one_run(data, tmp_path):
    run = tmp_path / "run"
    assert_ok(train(data, "--gen", "resnet_6blocks", "--gen-arg", "norm=instance", "--disc-arg", "norm=instance",
                    "--loss", "l1+wgangp", "--lr-policy", "step", "--lr-decay-every", 1, "--init-type", "xavier",
                    "--init-gain", 0.05, "--epochs", 1, "--epochs-decay", 1, "--out", run))
    config = config_of(run)
    assert config["generator"] == "resnet_6blocks" and config["generator_args"] == {"ngf": 8, "norm": "instance"}
    assert (config["lr_policy"], config["init_type"], config["init_gain"]) == ("step", "xavier", 0.05)
    weights = load_file(str(run / "model" / "model.safetensors"))
    assert "model.10.conv_block.1.weight" in weights and "model.1.bias" in weights  # the port's keys
    assert not any(k.endswith("running_mean") for k in weights)
    losses = [r for r in records(run) if "loss_g" in r]
    assert losses and all({"loss_d", "loss_g_l1", "loss_g_wgangp"} <= r.keys() for r in losses)
    assert {r["epoch"]: r["lr"] for r in losses} == {1: pytest.approx(2e-4), 2: pytest.approx(2e-5)}

    result = i2i("test", run, "--split", "train", "--num-test", 1, "-q")
    assert_ok(result)
    assert result.output.startswith("1 pair(s) of ")
    assert len(list((run / "test-train" / "images").glob("*_output.png"))) == 1
    result = i2i("eval", run, "--split", "train", "--num-test", 2, "--metrics", "l1", "-q")
    assert_ok(result)
    assert result.output.startswith("2 pairs: l1 ")
    assert_one_line_error(train(data, "--init-gain", "0.5", "--out", tmp_path / "no"), "--init-gain", "--init-type")


def test_plateau_keeps_its_state_in_the_checkpoint_and_resumes(data, tmp_path):
    run = tmp_path / "run"
    assert_ok(train(data, "--lr-policy", "plateau", "--best-metric", "l1", "--epochs", 1, "--epochs-decay", 0,
                    "--out", run))
    meta = read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")
    val = [r["val"]["l1"] for r in records(run) if "val" in r]
    assert meta["lr_schedule"] == {"factor": 1.0, "best": val[0], "bad_epochs": 0}
    assert_ok(resume(run, "--epochs", 2))
    meta = read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")
    val = [r["val"]["l1"] for r in records(run) if "val" in r]
    improved = val[1] < val[0] * 0.99
    assert meta["lr_schedule"]["bad_epochs"] == (0 if improved else 1)
    assert meta["lr_schedule"]["best"] == (val[1] if improved else val[0])
    refused = train(data, "--lr-policy", "plateau", "--val-every", 0, "--out", tmp_path / "no")
    assert_one_line_error(refused, "plateau", "--val-every")


# --- preprocessing and non-square images -----------------------------------------------------------------

@pytest.mark.parametrize("mode, args, size", [
    ("crop", ["--batch-size", 2], (32, 32)),
    ("scale_width_and_crop", ["--load-size", 40, "--batch-size", 2], (32, 32)),
    ("none", [], (36, 48)),
])
def test_preprocess_modes_train_on_non_square_images(wide, tmp_path, mode, args, size):
    run = tmp_path / "run"
    assert_ok(train_resnet(wide, run, "--preprocess", mode, "--val-every", 0, *args))
    assert config_of(run)["preprocess"] == mode
    model_config = json.loads((run / "model" / "config.json").read_text())
    assert model_config["train_size"].get("preprocess", "resize_and_crop") == mode
    from i2i.data.datasets import PairDataset

    item = PairDataset(wide, "train", load_size=config_of(run)["load_size"], crop_size=config_of(run)["crop_size"],
                       preprocess=mode)[0]
    assert tuple(item["a"].shape[-2:]) == tuple(item["b"].shape[-2:]) == size


def test_uncropped_batches_of_mixed_sizes_are_one_clear_error(wide, tmp_path):
    mixed = tmp_path / "mixed"
    write_aligned(mixed / "train", [(pattern(36, 48, 1), pattern(36, 48, 2)), (pattern(40, 40, 3), pattern(40, 40, 4))])
    result = train_resnet(mixed, tmp_path / "run", "--preprocess", "none", "--batch-size", 2, "--val-every", 0)
    assert_one_line_error(result, "a batch mixes image sizes", "--batch-size 1")


def test_validation_and_test_follow_the_models_preprocess_mode(wide, tmp_path):
    """scale_width at 24 x 32 in training; evaluation scales the width to the crop size (16), the height
    keeping the aspect but at least the crop size (the port's __scale_width): 21 x 16 and 16 x 16."""
    run = tmp_path / "run"
    assert_ok(train_resnet(wide, run, "--preprocess", "scale_width", "--load-size", 32, "--crop-size", 16))
    assert [r["val"] for r in records(run) if "val" in r]  # validated at sizes G pads to its multiple of 4
    with Image.open(run / "samples" / "epoch_0001.png") as grid:  # rows of both sizes, padded to the largest
        assert grid.size == (3 * 16 + 4 * 2, 2 * 21 + 3 * 2)
    assert_ok(i2i("test", run, "--split", "val", "-q"))
    sizes = []
    for output in sorted((run / "test-val" / "images").glob("*_output.png")):
        with Image.open(output) as image:
            sizes.append(image.size)
    assert sizes == [(16, 21), (16, 16)]


def test_jitter_modes_keep_a_and_b_aligned():
    a = pattern(30, 50, 1)
    for mode in ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"):
        jitter = PairJitter(40, 24, flip=True, preprocess=mode)
        for seed in range(4):
            x, y = jitter((a, a.clone()), torch.Generator().manual_seed(seed))
            assert torch.equal(x, y)
    assert PairJitter(40, 24, preprocess="none").resize(pattern(30, 50)).shape[-2:] == (32, 48)
    assert PairJitter(40, 24, preprocess="scale_width").resize(pattern(10, 50)).shape[-2:] == (24, 40)
    assert PairJitter(40, 24, train=False, preprocess="scale_width").resize(pattern(30, 48)).shape[-2:] == (24, 24)
    small = PairJitter(40, 24, preprocess="crop")
    assert small((pattern(20, 30),), torch.Generator())[0].shape[-2:] == (24, 24)  # zero-padded as the port's crop


# --- initialisation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("init, check", [
    ("normal", lambda w, fan_in: abs(w.std() - 0.1) < 0.01),
    ("xavier", lambda w, fan_in: abs(w.std() - 0.1 * (2 / (fan_in + w.shape[0] * 16)) ** 0.5) < 0.2 * w.std()),
    ("kaiming", lambda w, fan_in: abs(w.std() - (2 / fan_in) ** 0.5) < 0.1 * (2 / fan_in) ** 0.5),
    ("orthogonal", lambda w, fan_in: torch.allclose(w.flatten(1) @ w.flatten(1).T,
                                                    0.01 * torch.eye(w.shape[0]), atol=1e-4)),
])
def test_init_types_are_the_ports(init, check):
    torch.manual_seed(0)
    disc = init_weights(Patch70Discriminator(), init, gain=0.1)
    conv = disc.model[5]  # 128 -> 256, 4x4
    assert check(conv.weight.detach(), conv.weight[0].numel())
    assert not disc.model[0].bias.any()
    scales = disc.model[3].weight.detach()
    assert abs(scales.mean() - 1) < 0.05 and abs(scales.std() - 0.1) < 0.03 and not disc.model[3].bias.any()


def test_translate_task_preprocessing_resizes_as_the_models_mode(tmp_path):
    from i2i.core.plugin_manager import get_registry
    from i2i.models.translate_files import task_reader

    Image.new("RGB", (30, 60), "white").save(tmp_path / "sketch.png")  # 60 high, 30 wide
    sizes = {}
    for mode in ("resize_and_crop", "scale_width"):
        config = {"train_size": {"load_size": 16, "crop_size": 16, "preprocess": mode}}
        read = task_reader(get_registry().resolve("tasks", "sketch2photo"), config, lambda image: image)
        sizes[mode] = tuple(read(tmp_path / "sketch.png").shape)
    assert sizes == {"resize_and_crop": (3, 16, 16), "scale_width": (3, 32, 16)}
