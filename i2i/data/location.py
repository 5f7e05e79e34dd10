"""Where a task's data lives: the user's ``--data`` folder, or the i2i cache.

The cache is ``$I2I_HOME/data/<name>/`` holding the split folders. ``<name>`` comes from the task's
first download or Hub source (``facades.tar.gz`` and ``huggan/facades`` both give ``facades``), so
tasks over the same data (map→aerial, aerial→map) share one copy; tasks without one use their own
name. A folder is only used once it holds the completion marker: every writer builds beside it and
publishes with :func:`publish` (marker, then one rename), so a half-built copy is never taken for a
complete one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from i2i.core.errors import DataError
from i2i.core.registry import import_target
from i2i.core.task import Task
from i2i.data.cache import i2i_home

COMPLETE = ".i2i-complete"


def location_name(location: str) -> str:
    """The last path part of a URL, file name or Hub id: ``facades.tar.gz``, ``facades``."""
    return PurePosixPath(urlsplit(location).path).name


def data_name(task: Task) -> str:
    """The cache folder name of ``task``'s data (see the module docstring)."""
    for source in task.sources:
        if source.kind in ("url", "hub"):
            return location_name(source.location).split(".")[0] or task.name
    return task.name


def cached_root(task: Task) -> Path:
    return i2i_home() / "data" / data_name(task)


def is_complete(root: Path) -> bool:
    return (root / COMPLETE).is_file()


def read_marker(root: Path) -> dict:
    """What :func:`publish` recorded about a cached copy (``{}`` for older or synthetic ones)."""
    try:
        info = json.loads((root / COMPLETE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def staging_dir(root: Path) -> Path:
    """A new empty folder beside ``root`` for this process to build a copy in."""
    building = root.with_name(f".{root.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    return building


def remove_stale_staging(root: Path) -> None:
    """Remove copies that crashed processes left half-built (call only while holding the cache lock)."""
    for stale in root.parent.glob(f".{root.name}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)


def usage(root: Path) -> dict:
    """Files and bytes under ``root``, and files per split folder."""
    sizes = [path.stat().st_size for path in root.rglob("*") if path.is_file()]
    splits = {folder.name: sum(1 for path in folder.rglob("*") if path.is_file())
              for folder in sorted(root.iterdir()) if folder.is_dir() and not folder.name.startswith(".")}
    return {"files": len(sizes), "bytes": sum(sizes), "splits": splits}


def publish(built: Path, root: Path, info: dict | None = None, *, replace: bool = False) -> Path:
    """Mark ``built`` complete and move it to ``root`` in one rename; return ``root``.

    An incomplete ``root`` is always replaced, a complete one only with ``replace`` (hold the cache
    lock then). If another process published ``root`` first, its copy wins and ``built`` is removed.
    """
    info = {**(info or {}), **usage(built)}
    (built / COMPLETE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    if root.exists() and (replace or not is_complete(root)):
        shutil.rmtree(root)
    try:
        built.rename(root)
    except OSError as exc:
        shutil.rmtree(built, ignore_errors=True)
        if not is_complete(root):  # not another process finishing first: a real failure
            raise DataError(f"cannot move the prepared data into {root}: {exc}") from exc
    return root


def synthesize_task_data(task: Task, root: Path) -> Path:
    """Generate a synthetic task's splits into ``root`` once."""
    if is_complete(root):
        return root
    building = staging_dir(root)
    synthesize = import_target(task.synthesize)
    for split in task.splits:
        synthesize(building, split)
    return publish(building, root, {"source": "generated", "location": task.synthesize})


def missing_data_hint(task: Task) -> str:
    """What the user can do when ``task`` has no data yet."""
    if task.layout == "photos":
        return "pass --data DIR (any folder of photos)"
    if any(source.kind in ("url", "hub") for source in task.sources):
        return f"run `i2i data get {task.name}` or pass --data DIR"
    if task.prepare is None:
        return "pass --data DIR"
    return f"prepare it with `i2i data prepare {task.name} --from PATH` or pass --data DIR"


def task_data_root(task: Task, data: str | Path | None = None) -> Path:
    """The folder holding ``task``'s splits: ``data`` if given, else the cache (synthetic tasks build it)."""
    if data is not None:
        root = Path(data).expanduser()
        if not root.is_dir():
            raise DataError(f"--data {root} is not a folder")
        return root
    cached = cached_root(task)
    if task.synthesize:
        return synthesize_task_data(task, cached)
    if is_complete(cached):
        return cached
    raise DataError(f"no data for task {task.name!r} in {cached}: {missing_data_hint(task)}")
