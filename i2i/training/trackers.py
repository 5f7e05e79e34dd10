"""Experiment trackers: optional mirrors of a run's log (TensorBoard, Weights & Biases, or a plugin's).

A tracker is registered like any component (``register_trackers(register)``, kind ``trackers``) as a
class ``Tracker(run_dir, config)``; ``i2i train --tracker NAME`` opens it. It gets every record the run
writes to ``metrics.jsonl`` (:func:`scalars` flattens one) and each epoch's sample grid, and is closed
once when training stops, however it stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


class Tracker:
    """The interface; the base class does nothing, so a tracker overrides only what it needs."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir, self.config = Path(run_dir), config

    def log(self, record: dict[str, Any]) -> None:
        """A metrics.jsonl record: ``step``, ``epoch`` and losses, or an epoch's end with ``val`` scores."""

    def log_image(self, tag: str, path: Path, step: int) -> None:
        """An image file (an epoch's sample grid: input | output | target rows) at ``step``."""

    def close(self) -> None:
        """Flush and finish."""


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """A record's numbers under tracker names: ``loss/g_l1``, ``loss/d_real``, ``val/psnr``, ``lr``, ``img_per_s``."""
    found = {}
    for key, value in record.items():
        if key.startswith("loss_") and isinstance(value, (int, float)):
            found[f"loss/{key.removeprefix('loss_')}"] = float(value)
        elif key in ("lr", "img_per_s", "epoch"):
            found[key] = float(value)
    found.update({f"val/{name}": float(value) for name, value in (record.get("val") or {}).items()})
    return found


def open_trackers(names: Sequence[str], run_dir: Path, config: dict[str, Any], registry=None) -> list[Tracker]:
    """The trackers ``names`` of ``registry`` [the installed plugins'] opened for ``run_dir`` (unknown names: the
    registry's error)."""
    if registry is None:
        from i2i.core.plugin_manager import get_registry

        registry = get_registry()
    opened: list[Tracker] = []
    try:
        for name in names:
            opened.append(registry.resolve("trackers", name)(run_dir, config))
    except BaseException:
        for tracker in opened:
            tracker.close()
        raise
    return opened
