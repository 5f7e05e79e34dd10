"""The i2i cache folder and what every layer that writes into it shares: its location, a lock per item, and
the manifest of digests trusted on first use. Data and model code both build on this module.

``$I2I_HOME`` (else ``$XDG_CACHE_HOME/i2i``, else ``~/.cache/i2i``) holds ``data/``, ``models/``, ``locks/``
and ``manifest.json`` (SHA-256 digests by section: ``archives``, or ``models`` for converted checkpoints).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from i2i.core.atomic import atomic_write_text
from i2i.core.errors import DataError
from i2i.data.download import ChecksumError

Announce = Callable[[str], None]


def quiet(_message: str) -> None:
    """An :data:`Announce` that says nothing."""


def i2i_home() -> Path:
    """``$I2I_HOME``, else ``$XDG_CACHE_HOME/i2i``, else ``~/.cache/i2i``."""
    if os.environ.get("I2I_HOME"):
        return Path(os.environ["I2I_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "i2i"


@contextlib.contextmanager
def cache_lock(name: str, announce: Announce = quiet) -> Iterator[None]:
    """Hold ``$I2I_HOME/locks/<name>.lock`` (an OS file lock, released if the process dies)."""
    from filelock import FileLock, Timeout

    path = i2i_home() / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        announce(f"waiting for another i2i process working on {name} (lock {path})")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _manifest_path() -> Path:
    return i2i_home() / "manifest.json"


def read_manifest() -> dict:
    try:
        return json.loads(_manifest_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise DataError(f"{_manifest_path()} is not valid JSON ({exc}): fix or delete it") from None


def trusted_digest(archive: str, section: str = "archives") -> str | None:
    """The SHA-256 recorded on the first download of the file named ``archive`` (in ``section``), if any."""
    return read_manifest().get(section, {}).get(archive, {}).get("sha256")


def trust(archive: str, digest: str, url: str, size: int, section: str = "archives") -> None:
    """Record ``archive``'s digest on first use, in ``section`` (``archives``, or ``models`` for converted
    checkpoints); an existing record is kept."""
    with cache_lock(".manifest"):
        manifest = read_manifest()
        entry = {"sha256": digest, "size": size, "url": url, "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        manifest.setdefault(section, {}).setdefault(archive, entry)
        atomic_write_text(_manifest_path(), json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def pinned_mismatch(exc: ChecksumError) -> ChecksumError:
    """A checksum error against a digest recorded on first use, saying where it is kept."""
    return ChecksumError(f"{exc} (the digest was recorded on first download in {_manifest_path()}; "
                         f"if the file changed upstream, remove its entry there)")
