"""Which generator a run gives: model/ is the final one; --best-metric keeps best; --checkpoint picks any;
periodic checkpoints hold G only unless --save-training-state; the disk estimate matches the files."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file
from test_training import assert_ok, assert_one_line_error, i2i, records, train

from i2i.models.modeldir import load_generator
from i2i.training.checkpoint import read_checkpoint_meta
from i2i.training.checkpoint_model import checkpoint_model
from i2i_tasks.demo_data import synthesize


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    synthesize(root, "train", 2, 32)
    synthesize(root, "val", 1, 32)
    synthesize(root, "test", 1, 32)
    return root


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """2 epochs, a checkpoint each epoch, best by L1."""
    path = tmp_path_factory.mktemp("runs") / "run"
    result = train(data, "--epochs", 2, "--epochs-decay", 0, "--save-every", 1, "--best-metric", "l1", "--out", path,
                   quiet=False)
    assert_ok(result)
    path.joinpath("header.txt").write_text(result.output)
    return path


def generator_weights(model) -> dict[str, torch.Tensor]:
    return load_generator(model)[0].state_dict()


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_model_is_final_generator_and_checkpoints_are_generator_only(run):
    checkpoints = run / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "best.safetensors", "epoch_0001.safetensors", "epoch_0002.safetensors", "latest.safetensors"]
    periodic = load_file(str(checkpoints / "epoch_0001.safetensors"))
    assert periodic and all(k.startswith("generator.") or k.startswith("rng.") for k in periodic)
    assert read_checkpoint_meta(checkpoints / "epoch_0001.safetensors")["training_state"] is False
    latest = load_file(str(checkpoints / "latest.safetensors"))
    assert any(k.startswith("discriminator.") for k in latest) and any(k.startswith("opt_g.") for k in latest)
    final = generator_weights(run)
    assert same(final, generator_weights(checkpoint_model(str(run), "latest")))
    assert same(final, generator_weights(checkpoint_model(str(run), "epoch_2")))
    assert not same(final, generator_weights(checkpoint_model(str(run), "epoch_0001")))
    best_epoch = read_checkpoint_meta(checkpoints / "best.safetensors")["epoch"]
    scores = {r["epoch"]: r["val"]["l1"] for r in records(run) if "val" in r}
    assert best_epoch == min(scores, key=scores.get)
    exported = checkpoint_model(str(run), "best")
    assert json.loads((exported / "config.json").read_text())["provenance"]["epochs"] == best_epoch
    assert (exported / "README.md").is_file() and (exported / "samples.png").is_file()


def test_disk_estimate_matches_the_files(run):
    header = (run / "header.txt").read_text()
    line = next(line for line in header.splitlines() if line.startswith("disk: about"))
    assert "2 epoch checkpoints (generator only)" in line and "best checkpoint (generator only)" in line
    written = sum(p.stat().st_size for p in (run / "checkpoints").iterdir()) + (run / "model" / "model.safetensors").stat().st_size
    number, unit = re.match(r"disk: about ([\d.]+)([kMG]?)B", line).groups()
    estimate = float(number) * {"": 1, "k": 1024, "M": 1024**2, "G": 1024**3}[unit]
    assert 0.9 * written < estimate < 1.1 * written, (line, written)  # files add headers and RNG state


def test_commands_take_a_checkpoint(run, data, tmp_path):
    image = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (45, 37), (20, 120, 200)).save(image)
    assert_ok(i2i("translate", run, image, "-o", tmp_path / "out", "--checkpoint", "epoch_1", "--quiet"))
    assert (tmp_path / "out" / "in.png").is_file()
    tested = i2i("test", run, "--checkpoint", "best", "-q")
    assert_ok(tested)
    assert (run / "test-test-best" / "index.html").is_file()
    evaluated = i2i("eval", run, "--checkpoint", "epoch_0002", "--split", "val", "-q")
    assert_ok(evaluated)
    assert (run / "eval-val-epoch_0002" / "metrics.json").is_file()
    exported = i2i("export", run, "--format", "torchscript", "--checkpoint", "best", "--no-check",
                   "-o", tmp_path / "best.pt")
    assert_ok(exported)
    assert exported.stdout.strip() == str(tmp_path / "best.pt")


def test_missing_checkpoints_are_one_line_errors_listing_what_exists(run, data, tmp_path):
    assert_one_line_error(i2i("translate", run, run / "samples", "-o", tmp_path / "o", "--checkpoint", "epoch_7"),
                          "has no checkpoint 'epoch_7'", "it has: latest, best, epoch_0001, epoch_0002")
    assert_one_line_error(i2i("export", run / "model", "--format", "onnx", "--checkpoint", "best"),
                          "--checkpoint needs a run dir")
    plain = tmp_path / "plain"
    assert_ok(train(data, "--epochs", 1, "--epochs-decay", 0, "--save-training-state", "--save-every", 1,
                    "--out", plain))
    assert any(k.startswith("opt_d.") for k in load_file(str(plain / "checkpoints" / "epoch_0001.safetensors")))
    assert_one_line_error(i2i("push", plain, "me/x", "--checkpoint", "best"),
                          "no checkpoint 'best'", "only when trained with --best-metric", "it has: latest, epoch_0001")


def test_old_run_dirs_with_best_and_full_periodic_checkpoints_still_work(run, tmp_path):
    """A run from before: config with best_metric psnr, best.safetensors and epoch checkpoints with full state."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run, old)
    config = json.loads((old / "config.json").read_text())
    del config["save_training_state"], config["max_train"]
    config["best_metric"] = "psnr"
    (old / "config.json").write_text(json.dumps(config))
    shutil.copyfile(old / "checkpoints" / "latest.safetensors", old / "checkpoints" / "epoch_0002.safetensors")
    assert same(generator_weights(run), generator_weights(checkpoint_model(str(old), "epoch_2")))
    assert_ok(i2i("translate", old, run / "samples", "-o", tmp_path / "o", "--checkpoint", "best", "--quiet"))
