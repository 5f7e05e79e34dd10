"""Atomic writes: a file (or a folder) is written beside its target, then renamed over it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

from i2i.core.faults import fault_point

# What a write that a kill cut short leaves: ``.NAME.tmp-PID`` files, ``.NAME.staging-PID`` / ``.NAME.old-PID`` folders.
_LEFTOVER = re.compile(r"\..+\.(tmp|staging|old)-\d+")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` in one rename.

    A crash at any moment leaves either the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # writers such as safetensors create private (0600) files
        fault_point(f"write:{path.name}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def staged_dir(path: Path | str) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success it replaces ``path`` as a whole.

    Readers never see a mix of old and new files. An error or Ctrl-C keeps the old folder; a kill leaves the
    old folder or the new one (or, between the two renames of the swap, none), plus leftovers that
    :func:`remove_leftovers` deletes.
    """
    path = Path(path)
    staging = path.with_name(f".{path.name}.staging-{os.getpid()}")
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        fault_point(f"stage:{path.name}")
        if path.exists():
            os.replace(path, old)
            fault_point(f"swap:{path.name}")
        os.replace(staging, path)
    except BaseException:
        if old.exists() and not path.exists():  # interrupted mid-swap: the old folder goes back
            os.replace(old, path)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(folder: Path | str) -> list[Path]:
    """Delete what interrupted atomic writes left in ``folder`` (not recursive); call it only while no other
    process writes there (e.g. under the run lock). Returns what it deleted."""
    folder = Path(folder)
    found = [p for p in folder.iterdir() if _LEFTOVER.fullmatch(p.name)] if folder.is_dir() else []
    for leftover in found:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return found


def save_safetensors(tensors: dict, path: Path | str, metadata: dict[str, str] | None = None) -> Path:
    """safetensors' ``save_file``, atomically; its I/O errors (a full disk, a file size limit) raised as OSError."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
    except SafetensorError as exc:
        code = re.search(r"os error (\d+)", str(exc))
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(path)) from exc
    return Path(path)
