"""Registers the experiment trackers ``tensorboard`` and ``wandb`` (each needs its package: an extra).

Targets are lazy strings: registering imports neither package.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from i2i.api import ConfigError, Tracker, hookimpl, scalars


def import_optional(module: str, extra: str, tracker: str) -> ModuleType:
    """Import ``module`` for a tracker, or one clear error naming the i2i extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"--tracker {tracker} needs the {module.split('.')[0]} package: "
                          f"pip install 'i2i-pix2pix[{extra}]' ({exc})") from exc


class TensorBoardTracker(Tracker):
    """Scalars (losses, lr, img/s, validation metrics) and sample grids as TensorBoard events in ``RUN/tensorboard``."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        super().__init__(run_dir, config)
        import_optional("tensorboard", "tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def log(self, record: dict[str, Any]) -> None:
        for name, value in scalars(record).items():
            self.writer.add_scalar(name, value, record["step"])

    def log_image(self, tag: str, path: Path, step: int) -> None:
        from torchvision.io import ImageReadMode, read_image

        self.writer.add_image(tag, read_image(str(path), ImageReadMode.RGB), step)

    def close(self) -> None:
        self.writer.close()


class WandbTracker(Tracker):
    """Scalars and sample grids in a Weights & Biases run (project ``$WANDB_PROJECT`` or ``i2i``; its id
    comes from the run dir's path, so ``--resume`` continues the same W&B run). W&B's own settings apply
    (``WANDB_MODE=offline``, ``WANDB_API_KEY``, ...)."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        super().__init__(run_dir, config)
        self.wandb = import_optional("wandb", "wandb", "wandb")
        run_id = hashlib.sha1(str(self.run_dir.resolve()).encode()).hexdigest()[:16]
        self.session = self.wandb.init(project=os.environ.get("WANDB_PROJECT", "i2i"), name=self.run_dir.name,
                                       id=run_id, resume="allow", dir=str(self.run_dir), config=config)

    def log(self, record: dict[str, Any]) -> None:
        self.session.log(scalars(record), step=record["step"])

    def log_image(self, tag: str, path: Path, step: int) -> None:
        self.session.log({tag: self.wandb.Image(str(path))}, step=step)

    def close(self) -> None:
        self.session.finish()


@hookimpl
def register_trackers(register):
    register("tensorboard", "i2i_plugins.trackers:TensorBoardTracker", aliases=("tb",),
             description="TensorBoard events in RUN/tensorboard (pip install 'i2i-pix2pix[tensorboard]')")
    register("wandb", "i2i_plugins.trackers:WandbTracker",
             description="A Weights & Biases run (pip install 'i2i-pix2pix[wandb]')")
