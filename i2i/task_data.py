"""Where a task's data lives: the user's ``--data`` folder, or the i2i cache (built on first use)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from i2i.errors import DataError
from i2i.registry import import_target
from i2i.task import Task

_COMPLETE = ".i2i-complete"


def i2i_home() -> Path:
    """``$I2I_HOME``, else ``$XDG_CACHE_HOME/i2i``, else ``~/.cache/i2i``."""
    if os.environ.get("I2I_HOME"):
        return Path(os.environ["I2I_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "i2i"


def synthesize_task_data(task: Task, root: Path) -> Path:
    """Generate a synthetic task's splits into ``root`` once; a half-built folder is never used."""
    if (root / _COMPLETE).is_file():
        return root
    building = root.with_name(f".{root.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    synthesize = import_target(task.synthesize)
    for split in task.splits:
        synthesize(building, split)
    (building / _COMPLETE).write_text("ok\n")
    shutil.rmtree(root, ignore_errors=True)  # an incomplete earlier attempt
    try:
        building.rename(root)
    except OSError:  # another process finished first
        shutil.rmtree(building, ignore_errors=True)
    return root


def task_data_root(task: Task, data: str | Path | None = None) -> Path:
    """The folder holding ``task``'s splits: ``data`` if given, else the cache (synthetic tasks build it)."""
    if data is not None:
        root = Path(data).expanduser()
        if not root.is_dir():
            raise DataError(f"--data {root} is not a folder")
        return root
    cached = i2i_home() / "data" / task.name
    if task.synthesize:
        return synthesize_task_data(task, cached)
    if (cached / _COMPLETE).is_file():
        return cached
    sources = ", ".join(source.location for source in task.sources) or "no public source"
    raise DataError(f"no data for task {task.name!r} in {cached}: pass --data DIR (sources: {sources})")
