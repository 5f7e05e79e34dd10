"""`i2i train` end to end on tiny data: the run dir, translation, exact resume, the lr schedule, bad data and
bad options. Networks are shallow (32 px crops: a 5-level U-Net with ngf 8, a PatchGAN with ndf 8)."""

import json
import signal

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

from i2i.cli import cli
from i2i.core.atomic import _umask
from i2i.training.checkpoint import read_checkpoint_meta
from i2i.training.step import PairTrainer
from i2i_tasks.demo_data import synthesize

TRAIN_PAIRS = 4  # for the shared ``data`` fixture
pytestmark = pytest.mark.usefixtures("home")


def tiny(data) -> list[str]:
    return ["--task", "demo", "--data", str(data), "--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8",
            "--disc-arg", "ndf=8", "--device", "cpu", "--log-every", "1"]


def i2i(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def train(data, *args: str, quiet: bool = True):
    return i2i("train", *tiny(data), *(["--quiet"] if quiet else []), *args)


def resume(run, *args: str):
    return i2i("train", "--resume", run, "--device", "cpu", "--quiet", *args)


def assert_ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit status non-zero, no traceback, one ``Error:`` line holding every fragment; returns that line."""
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]


def records(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def steps(run) -> list[dict]:
    """The per-step loss records without the timing field."""
    return [{k: v for k, v in r.items() if k != "img_per_s"} for r in records(run) if "loss_g" in r]


def assert_same_state(run, other):
    """Every tensor of the latest checkpoints is bit-identical: G, D, both Adams' moments and the RNG."""
    ours = load_file(str(run / "checkpoints" / "latest.safetensors"))
    theirs = load_file(str(other / "checkpoints" / "latest.safetensors"))
    assert ours.keys() == theirs.keys()
    assert any(k.startswith("generator.") for k in ours) and any(k.startswith("discriminator.") for k in ours)
    assert any(k.startswith("opt_d.state.") for k in ours)
    different = [k for k in ours if not torch.equal(ours[k], theirs[k])]
    assert not different


@pytest.fixture(scope="module")
def full(data, tmp_path_factory):
    """The uninterrupted reference: 1 epoch at the base lr, then 1 of linear decay."""
    run = tmp_path_factory.mktemp("runs") / "full"
    assert_ok(train(data, "--epochs", 1, "--epochs-decay", 1, "--out", run))
    return run


# --- 1. the run dir and translating with it ------------------------------------------------------------

def test_train_writes_the_run_dir_and_the_model_translates_any_size(data, tmp_path):
    run = tmp_path / "run"
    result = train(data, "--epochs", 1, "--epochs-decay", 0, "--out", run, quiet=False)  # with the progress bar
    assert_ok(result)
    assert f"training demo: unet + patch70, loss l1+cgan, 1 epoch, {TRAIN_PAIRS} pairs" in result.output
    assert f"data: A|B side-by-side images in {data}" in result.output
    assert "epoch 1/1 done, l1 " in result.output and "done: model in" in result.output

    config = json.loads((run / "config.json").read_text())
    assert config["generator_args"] == {"num_downs": 5, "ngf": 8} and config["loss"] == "l1+cgan"
    assert config["provenance"]["i2i_version"] and config["provenance"]["plugins"]
    logged = records(run)
    losses = [r for r in logged if "loss_g" in r]
    assert [r["step"] for r in losses] == list(range(1, TRAIN_PAIRS + 1))
    assert all(r["lr"] == 2e-4 and r["img_per_s"] > 0 and
               {"loss_d", "loss_d_real", "loss_d_fake", "loss_g_l1", "loss_g_cgan"} <= r.keys() for r in losses)
    assert all(r["loss_d"] == pytest.approx((r["loss_d_real"] + r["loss_d_fake"]) / 2, rel=1e-5) for r in losses)
    val = [r["val"] for r in logged if "val" in r]
    assert len(val) == 1 and set(val[0]) == {"l1", "psnr", "ssim"}
    for name in ("samples/epoch_0001.png", "checkpoints/latest.safetensors", "model/model.safetensors",
                 "model/config.json", "index.html"):
        assert (run / name).is_file(), name
    assert not (run / "checkpoints" / "best.safetensors").exists()  # only with --best-metric
    assert "disk: about " in result.output and "latest checkpoint with training state" in result.output
    assert read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")["epoch"] == 1

    Image.new("RGB", (517, 300), (90, 160, 40)).save(tmp_path / "img.png")
    assert_ok(i2i("translate", run, tmp_path / "img.png", "-o", tmp_path / "out", "--quiet"))
    with Image.open(tmp_path / "out" / "img.png") as image:
        assert image.size == (517, 300)


# --- 2. exact resume -----------------------------------------------------------------------------------

def test_resume_after_an_epoch_is_bit_identical(data, full, tmp_path):
    run = tmp_path / "split"
    assert_ok(train(data, "--epochs", 1, "--epochs-decay", 0, "--out", run))
    # A process that died (not by Ctrl-C) after its last checkpoint may have logged steps beyond it:
    # resuming forgets those records, and logs the steps again as they are redone.
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({"epoch": 2, "step": TRAIN_PAIRS + 1, "lr": 1.0, "loss_g": 0.0}) + "\n")
        handle.write('{"epoch": 2, "st')  # cut short by the crash
    assert_ok(resume(run, "--epochs-decay", 1))
    assert_same_state(run, full)
    assert steps(run) == steps(full)


def interrupt_during_step(monkeypatch, at_step: int, signals: int = 1):
    """Send Ctrl-C (SIGINT) ``signals`` times from inside step ``at_step``: in D's forward passes, after G's
    forward has drawn its dropout masks, so a half-done step would show in the resumed weights."""
    real_step, calls = PairTrainer.step, []

    def step(self, real_a, real_b):
        calls.append(1)
        if len(calls) != at_step:
            return real_step(self, real_a, real_b)
        sent = []

        def hook(*_):
            if len(sent) < signals:
                sent.append(1)
                signal.raise_signal(signal.SIGINT)

        handle = self.discriminator.register_forward_hook(hook)
        try:
            return real_step(self, real_a, real_b)
        finally:
            handle.remove()

    monkeypatch.setattr(PairTrainer, "step", step)


def test_ctrl_c_mid_epoch_saves_whole_steps_and_resumes_bit_identically(data, full, tmp_path, monkeypatch):
    run = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        interrupt_during_step(patch, at_step=TRAIN_PAIRS + 2)  # epoch 2, during its batch 2
        result = train(data, "--epochs", 1, "--epochs-decay", 1, "--out", run)
    assert_one_line_error(result, f"interrupted in epoch 2 after batch 2 of {TRAIN_PAIRS}",
                          f"resume with `i2i train --resume {run}`")
    assert result.exit_code == 130  # as shells expect after Ctrl-C
    meta = read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")
    assert (meta["epoch"], meta["batch_in_epoch"], meta["global_step"]) == (1, 2, TRAIN_PAIRS + 2)

    assert_ok(resume(run))
    assert_same_state(run, full)
    assert steps(run) == steps(full)  # each step logged once, with the same losses and lr


def test_second_ctrl_c_stops_without_saving_a_half_step(data, tmp_path, monkeypatch):
    run = tmp_path / "stopped"
    args = ["--loss", "l1+gan", "--epochs", 1, "--epochs-decay", 0, "--out", run]
    with monkeypatch.context() as patch:
        interrupt_during_step(patch, at_step=1, signals=2)
        result = train(data, *args)
    assert_one_line_error(result, "stopped during a step without saving")
    assert not (run / "checkpoints" / "latest.safetensors").exists()
    # Nothing to resume: resuming starts it from scratch with its recorded config (so would --out of it).
    result = i2i("train", "--resume", run, "--device", "cpu")
    assert_ok(result)
    assert f"resuming {run} from its start (it saved no checkpoint)" in result.output
    assert [r["step"] for r in records(run) if "loss_g" in r] == list(range(1, TRAIN_PAIRS + 1))


# --- 5. the lr schedule as applied ---------------------------------------------------------------------

def test_trainer_applies_the_lr_schedule_per_epoch(full):
    """Constant for --epochs, then linear decay: 2e-4 * (1 - max(0, e + 1 - 1) / (1 + 1)) for e = 0, 1."""
    lrs = {r["epoch"]: r["lr"] for r in records(full) if "lr" in r}
    assert lrs == {1: pytest.approx(2e-4), 2: pytest.approx(1e-4)}
    assert {r["epoch"] for r in records(full) if "val" in r} == {1, 2}


# --- 6. undecodable data -------------------------------------------------------------------------------

def test_corrupt_jpeg_is_one_line_error_or_skipped_with_a_warning(tmp_path):
    data = tmp_path / "data"
    synthesize(data, "train", 3, 32)
    synthesize(data, "val", 1, 32)
    bad = data / "train" / "0001.jpg"
    with Image.open(data / "train" / "0001.png") as image:
        image.save(bad, quality=90)
    (data / "train" / "0001.png").unlink()
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    run = tmp_path / "run"
    args = ["--loss", "l1", "--epochs", 1, "--epochs-decay", 0, "--out", run]

    assert_one_line_error(train(data, *args), "cannot decode image", str(bad))

    result = train(data, *args, "--skip-bad-images")
    assert_ok(result)  # the failed start left no checkpoint: same --out
    assert any(line.startswith("i2i: warning: skipping bad image") and str(bad) in line
               for line in result.stderr.splitlines())
    assert (run / "model" / "model.safetensors").is_file()


# --- 7. bad user input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    (["--gen", "unnet"], ["unknown generator 'unnet'", "did you mean 'unet'"]),
    (["--disc", "patch71"], ["unknown discriminator 'patch71'", "did you mean"]),
    (["--loss", "l1+cgna"], ["'cgna'", "did you mean 'cgan'"]),
    (["--crop-size", "64", "--load-size", "36"], ["--crop-size 64 is larger than --load-size 36"]),
    (["--loss", "l1+cgan+gan"], ["more than one adversarial term (cgan, gan)"]),
    (["--gen-arg", "ngf"], ["expected KEY=VALUE"]),
    (["--crop-size", "48", "--load-size", "48"], ["cannot pick a depth for crop size 48"]),
    (["--gen-arg", "num_downs=6"], ["--crop-size 32 is not a multiple of 64"]),
    (["--gen-arg", "ngff=8"], ["generator 'unet' rejects the arguments", "ngff", "i2i info unet"]),
    (["--disc-arg", "ndff=8"], ["discriminator 'patch70' rejects the arguments", "ndff"]),
    (["--gen-arg", "ngf=-1"], ["generator 'unet': ngf=-1 is out of range", "from 1 to 256", "--gen-arg"]),
    (["--gen-arg", "dropout=5.0"], ["dropout=5.0 is out of range; expected a number from 0.0 to 1.0"]),
    (["--disc-arg", "ndf=3000"], ["discriminator 'patch70': ndf=3000 is out of range", "--disc-arg"]),
    (["--lr", "-1"], ["--lr must be > 0"]),
    (["--lambda-l1", "-5"], ["--lambda-l1 must be >= 0"]),
    (["--loss", "l1:x+cgan"], ["the weight of 'l1' must be a number >= 0, not 'x'"]),
    (["--loss", "l1:20+cgan", "--lambda-l1", "30"], ["weights l1 by 20 but --lambda-l1 is 30; give it once"]),
    (["--val-metrics", "psnr,sssim"], ["unknown metric 'sssim'", "did you mean", "'ssim'"]),
])
def test_bad_options_are_one_line_errors(data, tmp_path, args, fragments):
    result = train(data, "--out", tmp_path / "run", *args)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run" / "checkpoints").exists() or not any((tmp_path / "run" / "checkpoints").iterdir())


def test_loss_weights_are_recorded_and_resume_unchanged(data, tmp_path):
    """``--loss NAME:WEIGHT`` weights any term; the run records the spec and the L1 weight it used."""
    run = tmp_path / "run"
    assert_ok(train(data, "--loss", "l1:20+cgan:0.5", "--epochs", 1, "--epochs-decay", 0, "--out", run))
    config = json.loads((run / "config.json").read_text())
    assert (config["loss"], config["lambda_l1"]) == ("l1:20+cgan:0.5", 20.0)
    assert_ok(resume(run, "--epochs", 2))
    assert json.loads((run / "config.json").read_text())["loss"] == "l1:20+cgan:0.5"


def test_bad_resumes_and_outs_are_one_line_errors(data, full, tmp_path):
    assert_one_line_error(resume(tmp_path), f"{tmp_path} is not an i2i run directory")
    assert_one_line_error(resume(full, "--gen", "encdec", "--seed", "1"), "cannot change --gen, --seed when resuming")
    assert_one_line_error(resume(full), "has trained all 2 epochs", "above 2")
    assert_one_line_error(train(data, "--out", full), f"{full} already holds a run", f"--resume {full}")
    assert_one_line_error(resume(full / "model"), "is an exported model dir, not a run")
    (tmp_path / "config.json").write_text("{not json")
    assert_one_line_error(resume(tmp_path), "cannot read")


def test_relative_data_resumes_from_anywhere_and_files_follow_the_umask(data, tmp_path, monkeypatch):
    monkeypatch.chdir(data.parent)
    assert_ok(train(data.name, "--epochs", 1, "--epochs-decay", 0, "--out", tmp_path / "rel"))
    monkeypatch.chdir(tmp_path)
    assert_ok(resume(tmp_path / "rel", "--epochs", 2))
    for path in (tmp_path / "rel" / "model" / "model.safetensors", tmp_path / "rel" / "checkpoints" / "latest.safetensors"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    tested = i2i("test", tmp_path / "rel", "--split", "val", "-q")  # on the run's own data, not the cache
    assert_ok(tested)
    assert f"1 pair(s) of {data / 'val'}" in tested.output


def test_precision_is_chosen_recorded_and_may_change_on_resume(data, tmp_path, monkeypatch):
    from i2i.accel.precision import CpuFeatures

    monkeypatch.setattr(CpuFeatures, "detect", classmethod(lambda cls: CpuFeatures("AVX2", False, False)))
    run = tmp_path / "run"
    result = train(data, "--epochs", 1, "--epochs-decay", 0, "--out", run, "--precision", "bf16", quiet=False)
    assert_ok(result)
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "--precision bf16 will be slow" in warnings[0] and "AVX2" in warnings[0]
    assert "cpu bf16 (--precision bf16) ->" in result.output
    runtime = json.loads((run / "config.json").read_text())["runtime"]
    assert runtime["precision"] == "bf16" and runtime["precision_reason"] == "--precision bf16"
    assert runtime["device"] == "cpu" and runtime["cpu_gemm"] is True

    resumed = i2i("train", "--resume", run, "--device", "cpu", "--epochs", 2, "--no-cpu-gemm")  # auto
    assert_ok(resumed)
    assert "Warning:" not in resumed.output and "cpu fp32 (auto: bf16 would be slower than fp32" in resumed.output
    runtime = json.loads((run / "config.json").read_text())["runtime"]
    assert runtime["precision"] == "fp32" and runtime["precision_reason"].startswith("auto: ")
    assert runtime["cpu_gemm"] is False and runtime["cpu_gemm_reason"] == "--no-cpu-gemm"

    config = json.loads((run / "config.json").read_text())  # a config.json written before runtime records
    del config["runtime"]
    (run / "config.json").write_text(json.dumps(config))
    assert_ok(resume(run, "--epochs", 3))
