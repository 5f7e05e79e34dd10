"""The run directory: resolved config, metrics log, sample grids, checkpoints and the exported model."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from i2i.core.atomic import atomic_write_text, remove_leftovers
from i2i.core.errors import DataError


def trained_data(model: Path | str) -> str | None:
    """The ``--data`` folder a run dir was trained on; None for model dirs, Hub ids and cache-data runs."""
    run = RunDir(model)
    if not (run.model / "config.json").is_file() or not run.config_path.is_file():
        return None
    try:
        return run.read_config().get("data")
    except DataError:
        return None


class RunDir:
    """Paths and small writers for one training run.

    Layout: ``config.json``, ``metrics.jsonl``, ``samples/epoch_NNNN.png``,
    ``checkpoints/{latest,best,epoch_NNNN}.safetensors``, ``model/`` (exported generator), and while a
    process trains it, ``.lock`` (the run lock) with ``.lock.pid`` (its holder).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.metrics_path = self.path / "metrics.jsonl"
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"
        self.model = self.path / "model"
        self.lock_path = self.path / ".lock"

    @staticmethod
    def default_path(task: str, root: Path | str = "runs") -> Path:
        return Path(root) / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"

    def create(self) -> "RunDir":
        """Make the folders of a new run; a run that stopped before its first checkpoint is started over."""
        if self.config_path.exists():
            if self.has_checkpoint():
                raise DataError(f"{self.path} already holds a run; resume it with --resume {self.path} "
                                f"or pick another --out")
            self.clear_progress()
        for folder in (self.samples, self.checkpoints):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def clear_progress(self) -> None:
        """Forget everything a run that never saved ``latest`` wrote: metrics, sample grids, checkpoints, model."""
        self.metrics_path.unlink(missing_ok=True)
        for pattern, folder in (("epoch_*.png", self.samples), ("*.safetensors", self.checkpoints)):
            for path in folder.glob(pattern):
                path.unlink()
        shutil.rmtree(self.model, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator["RunDir"]:
        """Hold the run lock (an OS file lock, dropped if the process dies) while training; a second process
        gets one clear line naming the holder's PID. Then delete what interrupted writes left behind."""
        from filelock import FileLock, Timeout

        self.path.mkdir(parents=True, exist_ok=True)
        pid_path = self.lock_path.with_name(".lock.pid")
        lock = FileLock(self.lock_path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = pid_path.read_text(encoding="utf-8").strip() if pid_path.is_file() else "unknown"
            raise DataError(f"{self.path} is in use by another i2i process (PID {holder}); wait for it to end "
                            f"or stop it first") from None
        try:
            atomic_write_text(pid_path, f"{os.getpid()}\n")
            for folder in (self.path, self.checkpoints, self.model):
                remove_leftovers(folder)
            yield self
        finally:
            pid_path.unlink(missing_ok=True)
            lock.release()

    def write_config(self, config: dict[str, Any]) -> None:
        try:
            atomic_write_text(self.config_path, json.dumps(config, indent=2) + "\n")
        except OSError as exc:
            raise DataError(f"cannot write {self.config_path}: {exc.strerror or exc}") from exc

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise DataError(f"{self.path} is not an i2i run directory (no config.json)")
        if (self.path / "model.safetensors").is_file():
            raise DataError(f"{self.path} is an exported model dir, not a run; resume the run dir that holds it")
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {self.config_path}: {exc}") from exc

    def has_checkpoint(self) -> bool:
        """Whether the run saved ``latest`` (a run killed before that has nothing to resume from)."""
        return self.checkpoint("latest").is_file()

    def drop_metrics_after(self, step: int, *, epoch_ended: bool = True) -> None:
        """Forget records logged after the checkpoint a resumed run restarts from: those of later steps, and
        unless ``epoch_ended``, the epoch-end record of ``step`` itself (that epoch's end is done again)."""
        if not self.metrics_path.is_file():
            return
        lines = self.metrics_path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if _step_of(line) < step or _step_of(line) == step and
                (epoch_ended or _is_step_record(line))]
        if len(kept) != len(lines):
            atomic_write_text(self.metrics_path, "".join(kept))

    def log(self, record: dict[str, Any]) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def checkpoint(self, name: str) -> Path:
        return self.checkpoints / f"{name}.safetensors"

    def sample(self, epoch: int) -> Path:
        return self.samples / f"epoch_{epoch:04d}.png"


class FollowerRunDir(RunDir):
    """The run dir as a distributed run's processes other than rank 0 see it: they read, rank 0 alone writes
    (and holds the run lock)."""

    def create(self) -> "RunDir":
        return self

    def clear_progress(self) -> None:
        pass

    @contextlib.contextmanager
    def lock(self) -> Iterator["RunDir"]:
        yield self

    def write_config(self, config: dict[str, Any]) -> None:
        pass

    def drop_metrics_after(self, step: int, *, epoch_ended: bool = True) -> None:
        pass

    def log(self, record: dict[str, Any]) -> None:
        pass


def _is_step_record(line: str) -> bool:
    """A training step's record (it has the learning rate), not an epoch's end."""
    return "lr" in json.loads(line)


def _step_of(line: str) -> float:
    """A metrics line's step; a line cut short by a crash counts as after every step."""
    try:
        return json.loads(line).get("step", 0)
    except ValueError:
        return float("inf")
