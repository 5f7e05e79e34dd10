"""Get a task's data into the cache: its sources in order, under a lock, published only when complete.

Sources are tried in order, download URLs first, then Hub datasets (``kind`` keeps one of them).
A url source's location is a URL or a file name relative to the source's ``base`` (e.g. the pix2pix
archives' server, which the paper tasks name); ``$I2I_DATA_MIRROR`` (or ``mirror=``) replaces that
base. An archive whose source gives no SHA-256 is trusted on first use: the digest of its first
download is recorded in ``$I2I_HOME/manifest.json`` (:mod:`i2i.data.cache`) and every later download must
match it.
Downloaded archives are deleted once extracted; the cached copy is ``$I2I_HOME/data/<name>/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from i2i.core.errors import DataError, I2IError
from i2i.core.registry import import_target
from i2i.core.task import DataSource, Task
from i2i.data.cache import Announce, cache_lock, i2i_home, pinned_mismatch, quiet, trust, trusted_digest
from i2i.data.download import ChecksumError
from i2i.data.location import (cached_root, is_complete, location_name, missing_data_hint, publish,
                           remove_stale_staging, staging_dir, synthesize_task_data)

MIRROR_ENV = "I2I_DATA_MIRROR"
KINDS = ("url", "hub")

def source_url(location: str, base: str = "", mirror: str | None = None) -> str:
    """The URL to fetch a url source from: a relative ``location`` is joined to ``base``, and ``base`` is
    replaced by ``mirror`` (default ``$I2I_DATA_MIRROR``) when one is set."""
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if urlsplit(location).scheme:
        if mirror and base and location.startswith(base):
            return mirror.rstrip("/") + "/" + location[len(base):].lstrip("/")
        return location
    if not (mirror or base):
        return location  # no server to join it to: _fetch_archive says so
    return (mirror or base).rstrip("/") + "/" + location.lstrip("/")


def ordered_sources(task: Task, kind: str | None = None) -> list[DataSource]:
    """``task``'s download sources, then its Hub sources (only ``kind`` if given)."""
    return [source for k in KINDS if kind in (None, k) for source in task.sources if source.kind == k]


def _build(root: Path, make: Callable[[Path], tuple[Path, dict]], *, replace: bool = False) -> Path:
    """Run ``make(staging) -> (folder holding the splits, info)`` beside ``root``; publish that folder as ``root``."""
    building = staging_dir(root)
    try:
        built, info = make(building)
        return publish(built, root, info, replace=replace)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _unpacked(task: Task, archive: Path, info: dict) -> Callable[[Path], tuple[Path, dict]]:
    from i2i.data.archive import extract, find_split_root

    return lambda building: (find_split_root(extract(archive, building), task.splits), info)


def _fetch_archive(source: DataSource, mirror: str | None, progress: bool, announce: Announce) -> tuple[Path, dict]:
    from i2i.data.download import download, file_sha256

    url, name = source_url(source.location, source.base, mirror), location_name(source.location)
    if not urlsplit(url).scheme:
        raise DataError(f"the url source {url!r} is a relative path without a base URL; set {MIRROR_ENV} "
                        f"(or --mirror URL) to the server that holds it")
    expected = source.sha256 or trusted_digest(name)
    archive = i2i_home() / "downloads" / name
    if archive.is_file() and expected and file_sha256(archive) == expected:
        digest = expected  # downloaded earlier; extraction did not finish
    else:
        archive.unlink(missing_ok=True)
        announce(f"downloading {url}")
        try:
            digest = download(url, archive, sha256=expected, size=source.size, progress=progress)
        except ChecksumError as exc:
            if expected and not source.sha256:
                raise pinned_mismatch(exc) from None
            raise
    return archive, {"source": "url", "location": url, "sha256": digest, "archive_bytes": archive.stat().st_size}


def _from_url(task: Task, source: DataSource, root: Path, mirror: str | None, progress: bool,
              announce: Announce) -> Path:
    archive, info = _fetch_archive(source, mirror, progress, announce)
    announce(f"extracting {archive.name}")
    _build(root, _unpacked(task, archive, info))
    if not source.sha256:  # trust on first use, once the archive proved whole by extracting into splits
        trust(location_name(source.location), info["sha256"], info["location"], info["archive_bytes"])
    archive.unlink()
    return root


def _from_hub(source: DataSource, root: Path, progress: bool, announce: Announce) -> Path:
    from i2i.data.hub_datasets import hub_to_aligned

    announce(f"downloading Hub dataset {source.location}")
    return _build(root, lambda building: (building, hub_to_aligned(source.location, building,
                                                                    split_sizes=source.split_sizes,
                                                                    progress=progress)))


def _give_up(task: Task, sources: list[DataSource], failures: list[str]) -> DataError:
    hints = []
    bases = sorted({source.base for source in sources if source.kind == "url" and source.base})
    if any(source.kind == "url" for source in sources):
        hints.append(f"set {MIRROR_ENV}=URL (or --mirror URL) to a copy of {' or '.join(bases) or 'the server'}")
    if any(source.kind == "hub" for source in sources):
        hints.append("set HF_ENDPOINT to a Hub mirror")
    hints.append(f"download the data yourself and run `i2i data prepare {task.name} --from PATH`, "
                 f"or pass --data DIR to i2i train")
    return DataError(f"could not get data for {task.name}: {'; '.join(failures)}. Fix: {'; or '.join(hints)}")


def get_task_data(task: Task, *, mirror: str | None = None, kind: str | None = None, progress: bool = True,
                  announce: Announce = quiet) -> Path:
    """``task``'s cached data root, fetched from its sources first if needed (one process at a time)."""
    root = cached_root(task)
    if task.synthesize:
        return synthesize_task_data(task, root)
    if is_complete(root):
        return root
    sources = ordered_sources(task, kind)
    if not sources:
        which = f"no {kind} source" if kind else "nothing to download"
        raise DataError(f"task {task.name!r} has {which}: {missing_data_hint(task)}")
    with cache_lock(root.name, announce):
        if is_complete(root):
            return root
        remove_stale_staging(root)
        failures = []
        for number, source in enumerate(sources, 1):
            try:
                if source.kind == "url":
                    return _from_url(task, source, root, mirror, progress, announce)
                return _from_hub(source, root, progress, announce)
            except ChecksumError as exc:  # the source served something else: stop, never fall back to another
                raise ChecksumError(f"{exc}; not trying {task.name}'s other sources") from None
            except I2IError as exc:
                failures.append(str(exc))
                if number < len(sources):
                    announce(f"{exc}; trying the next source")
        raise _give_up(task, sources, failures)


def prepare_from(task: Task, path: Path | str, *, announce: Announce = quiet) -> Path:
    """Put the user's own copy of ``task``'s data into the cache, replacing any copy there.

    ``path``: an archive (tar or zip, e.g. a manual download; not checked against any digest), a folder
    holding the split folders (copied), or, for a task with a ``prepare`` step, the data in the layout
    that step reads (e.g. Cityscapes' official folders).
    """
    from i2i.data.archive import find_split_root

    path, root = Path(path).expanduser(), cached_root(task)
    if not path.exists():
        raise DataError(f"--from {path} does not exist")
    info = {"source": "local", "location": str(path.resolve())}
    if path.is_file():
        make = _unpacked(task, path, info)
    elif task.prepare and not all((path / split).is_dir() for split in task.splits):
        def make(building):
            import_target(task.prepare)(path, building)
            return building, info
    else:
        def make(building):
            return shutil.copytree(find_split_root(path, task.splits), building / "copy"), info
    with cache_lock(root.name, announce):
        remove_stale_staging(root)
        return _build(root, make, replace=True)
