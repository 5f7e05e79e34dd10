"""What survives a crash: training killed (SIGKILL) or interrupted (SIGINT) at each phase of the end-of-epoch
sequence resumes to the same files, bit for bit, as a run that never stopped; the run lock; a full disk.

Faults are injected at named hook points (``I2I_FAULT=PHASE[@N]:SIGNAL``, :mod:`i2i.core.faults`), not by timing.
Each training runs in a forked child (a real process that a signal can kill, with the modules this test
already imported), on one thread so that every run does the same arithmetic. Networks are tiny: 32 px crops,
a 5-level U-Net with ngf 8, a PatchGAN with ndf 8, 2 training pairs of batch 1 and 2 epochs.
"""

import errno
import json
import os
import resource
import shutil
import signal
import sys
import traceback
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from i2i.cli import cli
from i2i.core.atomic import remove_leftovers, save_safetensors, staged_dir
from i2i.core.faults import ENV
from i2i.training.checkpoint import read_checkpoint_meta
from i2i.training.rundir import RunDir

pytestmark = [pytest.mark.skipif(not hasattr(os, "fork"), reason="the crash harness forks the training processes"),
              pytest.mark.usefixtures("home")]

TINY = ["--task", "demo", "--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8", "--disc-arg", "ndf=8",
        "--device", "cpu", "--log-every", "1", "--batch-size", "1", "--save-every", "1", "--best-metric", "psnr",
        "--quiet"]
LEFTOVER = (".tmp-", ".staging-", ".old-", ".lock.pid")


def i2i(*args, fault: str | None = None, log: Path | None = None, limit_bytes: int | None = None) -> int:
    """Run ``i2i ARGS`` in a forked child; its exit status, or minus the signal that killed it.

    ``fault``: ``$I2I_FAULT`` for the child; ``log``: where its stdout and stderr go; ``limit_bytes``: the
    largest file it may write (RLIMIT_FSIZE: bigger writes fail with EFBIG, as on a full disk).
    """
    with warnings.catch_warnings():  # Python 3.12+ warns on forking with threads (torch's pool); the child uses one
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            torch.set_num_threads(1)
            if log is not None:
                sys.stdout = sys.stderr = open(log, "w", encoding="utf-8")
            if fault is not None:
                os.environ[ENV] = fault
            if limit_bytes is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))
            cli.main([str(a) for a in args], prog_name="i2i")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.fixture(scope="module", autouse=True)
def warm():
    """What every training imports on first use, imported once here rather than in each forked child."""
    from huggingface_hub import ModelCard  # noqa: F401 (the model card)

    import i2i.training.run  # noqa: F401
    from i2i.core.plugin_manager import get_registry

    get_registry()


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """The uninterrupted run: 1 epoch at the base lr, then 1 of linear decay."""
    run = tmp_path_factory.mktemp("runs") / "reference"
    assert i2i("train", *TINY, "--data", data, "--epochs", 1, "--epochs-decay", 1, "--out", run) == 0
    return run


@pytest.fixture(scope="module")
def first_epoch(data, tmp_path_factory):
    """The same run stopped after its first epoch (as `--epochs-decay 0`): each crash case continues a copy."""
    run = tmp_path_factory.mktemp("runs") / "first-epoch"
    assert i2i("train", *TINY, "--data", data, "--epochs", 1, "--epochs-decay", 0, "--out", run) == 0
    return run


def resume(run, *args, **kwargs) -> int:
    return i2i("train", "--resume", run, "--device", "cpu", "--quiet", *args, **kwargs)


def assert_same_tensors(path: Path, other: Path) -> None:
    ours, theirs = load_file(str(path)), load_file(str(other))
    assert ours.keys() == theirs.keys(), path
    assert not [k for k in ours if not torch.equal(ours[k], theirs[k])], path


def records(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "img_per_s"} for line in lines]


def assert_same_run(run: Path, reference: Path) -> None:
    """Every checkpoint, the model dir, the sample grids and the metrics equal the reference's; nothing stale."""
    files = sorted(p.relative_to(reference) for p in reference.rglob("*") if p.is_file() and p.name != ".lock")
    assert sorted(p.relative_to(run) for p in run.rglob("*") if p.is_file() and p.name != ".lock") == files
    for name in files:
        if name.suffix == ".safetensors":
            assert_same_tensors(run / name, reference / name)
        elif name.name == "index.html":  # the run page names its run and the time: it must say the run finished
            assert "finished: " in (run / name).read_text()
        elif name.name not in ("config.json", "metrics.jsonl") or name.parent.name == "model":
            assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    assert records(run) == records(reference)  # each step and each validation logged once, same values


def leftovers(run: Path) -> list[Path]:
    return [p for p in run.rglob("*") if any(mark in p.name for mark in LEFTOVER)]


# Each boundary of the end-of-epoch sequence, and the moments inside its atomic writes: a written temporary
# file not yet renamed, the staged model dir before and halfway through its swap.
END_PHASES = ["end:samples", "end:validate", "validating", "end:log", "end:periodic", "end:export", "end:latest"]
WRITE_PHASES = ["write:epoch_0002.safetensors", "write:model.safetensors",
                "write:README.md", "stage:model", "swap:model", "write:latest.safetensors"]


@pytest.mark.parametrize("phase, sig", [(p, "SIGKILL") for p in END_PHASES + WRITE_PHASES] +
                         [(p, "SIGINT") for p in END_PHASES])
def test_stopped_at_any_phase_of_the_last_epoch_resumes_to_the_same_run(phase, sig, first_epoch, reference,
                                                                       tmp_path):
    run = tmp_path / "run"
    shutil.copytree(first_epoch, run)
    log = tmp_path / "log"
    status = resume(run, "--epochs-decay", 1, fault=f"{phase}:{sig}", log=log)
    if sig == "SIGKILL":
        assert status == -signal.SIGKILL
    else:  # Ctrl-C saves where it stopped: every batch of epoch 2 trained, its end not done
        assert status == 130, log.read_text()
        assert "interrupted at the end of epoch 2 (it ends again on resuming)" in log.read_text()
        meta = read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")
        assert (meta["epoch"], meta["batch_in_epoch"]) == (1, 2)
    assert resume(run, log=log) == 0, log.read_text()  # not "has trained all 2 epochs"
    assert_same_run(run, reference)
    assert not leftovers(run)


@pytest.mark.parametrize("phase, sig", [("validating", "SIGKILL"), ("validating", "SIGINT"),
                                        ("write:best.safetensors", "SIGKILL")])
def test_stopped_end_of_first_epoch_resumes_into_the_next(phase, sig, data, reference, tmp_path):
    run = tmp_path / "run"
    status = i2i("train", *TINY, "--data", data, "--epochs", 1, "--epochs-decay", 1, "--out", run,
                 fault=f"{phase}@1:{sig}")
    assert status == (-signal.SIGKILL if sig == "SIGKILL" else 130)
    assert resume(run) == 0
    assert_same_run(run, reference)


@pytest.mark.parametrize("restart", ["--resume", "--out"])
def test_run_killed_in_its_first_checkpoint_write_restarts_in_place(restart, data, reference, tmp_path):
    run = tmp_path / "run"
    args = [*TINY, "--data", data, "--epochs", 1, "--epochs-decay", 1]
    assert i2i("train", *args, "--out", run, fault="write:latest.safetensors@1:SIGKILL") == -signal.SIGKILL
    assert any(".latest.safetensors.tmp-" in p.name for p in (run / "checkpoints").iterdir())
    log = tmp_path / "log"
    status = resume(run, log=log) if restart == "--resume" else i2i("train", *args, "--out", run, log=log)
    assert status == 0, log.read_text()
    assert_same_run(run, reference)
    assert not leftovers(run)


def test_run_whose_model_lags_its_checkpoint_exports_on_resume(first_epoch, tmp_path):
    """What an earlier i2i (`latest` saved before the export) left after a kill in between: resume finishes it."""
    run = tmp_path / "run"
    shutil.copytree(first_epoch, run)
    shutil.rmtree(run / "model")
    assert resume(run) == 0
    assert_same_run(run, first_epoch)


def test_second_training_of_a_run_is_refused_while_the_first_holds_its_lock(data, first_epoch, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(first_epoch, run)
    metrics = (run / "metrics.jsonl").read_bytes()
    with RunDir(run).lock():
        assert resume(run, "--epochs-decay", 1, log=tmp_path / "resume") == 1
        assert i2i("train", *TINY, "--data", data, "--out", run, log=tmp_path / "out") == 1
    for log in ("resume", "out"):
        errors = [line for line in (tmp_path / log).read_text().splitlines() if line.startswith("Error")]
        assert errors == [f"Error: {run} is in use by another i2i process (PID {os.getpid()}); wait for it to "
                          f"end or stop it first"]
    assert (run / "metrics.jsonl").read_bytes() == metrics  # nothing trained, nothing started over
    assert not leftovers(run)


def test_full_disk_while_checkpointing_is_one_line_and_the_run_resumes(first_epoch, reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(first_epoch, run)
    log = tmp_path / "log"
    checkpoint = (run / "checkpoints" / "latest.safetensors").stat().st_size
    assert resume(run, "--epochs-decay", 1, log=log, limit_bytes=checkpoint // 2) == 1
    errors = [line for line in log.read_text().splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Traceback" not in log.read_text()
    assert errors[0].startswith("Error: File too large: ") and ".safetensors; the last complete checkpoint is kept" in errors[0]
    assert f"resume with `i2i train --resume {run}`" in errors[0]
    assert read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")["epoch"] == 1
    assert resume(run, log=log) == 0, log.read_text()
    assert_same_run(run, reference)
    assert not leftovers(run)


# --- the writers' own guarantees, without training ------------------------------------------------------

def test_a_full_disk_is_an_os_error_naming_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    import safetensors.torch
    from safetensors import SafetensorError

    path = tmp_path / "weights.safetensors"
    save_safetensors({"w": torch.ones(2)}, path)

    def full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    with pytest.raises(OSError) as raised:
        save_safetensors({"w": torch.zeros(2)}, path)
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(path))
    assert torch.equal(load_file(str(path))["w"], torch.ones(2)) and os.listdir(tmp_path) == [path.name]


def test_a_staged_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "model"
    with staged_dir(target) as staging:
        (staging / "a").write_text("1")
    with pytest.raises(RuntimeError), staged_dir(target) as staging:
        (staging / "a").write_text("2")
        raise RuntimeError("failed while writing")
    monkeypatch.setenv(ENV, "swap:model:SIGINT")  # Ctrl-C between moving the old folder aside and the new in
    with pytest.raises(KeyboardInterrupt), staged_dir(target) as staging:
        (staging / "a").write_text("3")
    assert (target / "a").read_text() == "1" and os.listdir(tmp_path) == ["model"]
    monkeypatch.delenv(ENV)
    with staged_dir(target) as staging:
        (staging / "b").write_text("4")
    assert os.listdir(target) == ["b"] and os.listdir(tmp_path) == ["model"]


def test_leftovers_of_killed_writes_are_recognised_by_name(tmp_path):
    for name in (".latest.safetensors.tmp-123", ".model.staging-45", ".model.old-6", "latest.safetensors",
                 ".lock", "notes.tmp-1", ".x.tmp-abc"):
        (tmp_path / name).mkdir() if "staging" in name or "old" in name else (tmp_path / name).write_text("")
    assert sorted(p.name for p in remove_leftovers(tmp_path)) == [".latest.safetensors.tmp-123", ".model.old-6",
                                                                  ".model.staging-45"]
    assert sorted(os.listdir(tmp_path)) == [".lock", ".x.tmp-abc", "latest.safetensors", "notes.tmp-1"]
