"""The run directory: resolved config, metrics log, sample grids, checkpoints and the exported model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from i2i.atomic import atomic_write_text
from i2i.errors import DataError


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
    ``checkpoints/{latest,best,epoch_NNNN}.safetensors``, ``model/`` (exported generator).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.metrics_path = self.path / "metrics.jsonl"
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"
        self.model = self.path / "model"

    @staticmethod
    def default_path(task: str, root: Path | str = "runs") -> Path:
        return Path(root) / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"

    def create(self) -> "RunDir":
        """Make the folders of a new run; a run that stopped before its first checkpoint is started over."""
        if self.config_path.exists():
            if self.has_checkpoint():
                raise DataError(f"{self.path} already holds a run; resume it with --resume {self.path} "
                                f"or pick another --out")
            self.metrics_path.unlink(missing_ok=True)
        for folder in (self.samples, self.checkpoints):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.config_path, json.dumps(config, indent=2) + "\n")

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
        return self.checkpoints.is_dir() and any(self.checkpoints.glob("*.safetensors"))

    def drop_metrics_after(self, step: int) -> None:
        """Forget records of steps after ``step`` (logged after the checkpoint a resumed run restarts from)."""
        if not self.metrics_path.is_file():
            return
        lines = self.metrics_path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if _step_of(line) <= step]
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
    """The run dir as a distributed run's processes other than rank 0 see it: they read, rank 0 writes."""

    def create(self) -> "RunDir":
        return self

    def write_config(self, config: dict[str, Any]) -> None:
        pass

    def drop_metrics_after(self, step: int) -> None:
        pass

    def log(self, record: dict[str, Any]) -> None:
        pass


def _step_of(line: str) -> float:
    """A metrics line's step; a line cut short by a crash counts as after every step."""
    try:
        return json.loads(line).get("step", 0)
    except ValueError:
        return float("inf")
