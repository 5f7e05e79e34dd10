"""HTTP downloads that resume, verify their size and SHA-256, and appear only when complete.

Bytes go to ``<dest>.part``; an interrupted transfer continues from the part's length with an HTTP
``Range`` request (in the same call, up to ``retries`` times, or in a later call). The server's
``ETag`` (or ``Last-Modified``) is kept beside the part and sent as ``If-Range``, so a file that changed
in between is fetched again whole rather than spliced. Only a verified file is renamed to ``dest``; a
file that fails verification is deleted.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import urllib.error
import urllib.request
from pathlib import Path

from i2i import __version__
from i2i.core.errors import DataError

CHUNK = 1 << 20
TIMEOUT_S = 60


class DownloadError(DataError):
    """The server could not be reached, refused the file, or the transfer kept breaking off."""


class ChecksumError(DataError):
    """A downloaded file had the wrong size or SHA-256 (it has been deleted)."""


class _Interrupted(Exception):
    """The connection broke off mid-transfer; the part file keeps what arrived."""


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path | str, *, sha256: str | None = None, size: int | None = None,
             progress: bool = True, retries: int = 2) -> str:
    """Fetch ``url`` to ``dest`` and return its SHA-256; check ``size`` and ``sha256`` when given.

    Raises :class:`DownloadError` (unreachable, HTTP error, transfer broken off ``retries + 1``
    times; the part file is kept for the next call) or :class:`ChecksumError` (file deleted).
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, size, progress)
            break
        except _Interrupted as exc:
            if attempt == retries:
                got = part.stat().st_size if part.exists() else 0
                raise DownloadError(f"download of {url} broke off at {got} bytes ({exc}); "
                                    f"run again to resume") from None
    digest = _verify(url, part, sha256, size)
    part.replace(dest)
    _validator_file(part).unlink(missing_ok=True)
    return digest


def _validator_file(part: Path) -> Path:
    return part.with_name(part.name + ".validator")


def _discard(part: Path) -> None:
    part.unlink()
    _validator_file(part).unlink(missing_ok=True)


def _open(url: str, start: int, validator: str | None):
    headers = {"User-Agent": f"i2i/{__version__}", "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
        if validator:
            headers["If-Range"] = validator
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the part already holds the whole file (verification decides)
            return None
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"cannot download {url}: {reason}") from None


def _resumes(response, start: int) -> bool:
    """Whether ``response`` continues at byte ``start`` (a 206 with the matching Content-Range)."""
    found = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return bool(start) and response.status == 206 and found is not None and int(found.group(1)) == start


def _fetch(url: str, part: Path, size: int | None, progress: bool) -> None:
    from tqdm import tqdm

    start = part.stat().st_size if part.exists() else 0
    if size is not None and start >= size:
        if start == size:
            return
        start = 0
    validator_file = _validator_file(part)
    validator = validator_file.read_text() if start and validator_file.is_file() else None
    response = _open(url, start, validator)
    if response is None:
        return
    with response:
        start = start if _resumes(response, start) else 0
        if not start:  # a fresh transfer: remember which version of the file this part holds
            fresh = response.headers.get("ETag") or response.headers.get("Last-Modified")
            validator_file.unlink(missing_ok=True)
            if fresh:
                validator_file.write_text(fresh)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else size
        with open(part, "ab" if start else "wb") as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, dynamic_ncols=True,
            desc=part.name.removesuffix(".part"), disable=None if progress else True, leave=False,
        ) as bar:
            try:
                while block := response.read(CHUNK):
                    out.write(block)
                    bar.update(len(block))
            except (http.client.HTTPException, OSError) as exc:
                raise _Interrupted(str(exc) or type(exc).__name__) from None
    got = part.stat().st_size
    if total is not None and got < total:
        raise _Interrupted(f"{got} of {total} bytes")


def _verify(url: str, part: Path, sha256: str | None, size: int | None) -> str:
    got = part.stat().st_size
    if size is not None and got != size:
        _discard(part)
        raise ChecksumError(f"{url} gave {got} bytes, expected {size}: deleted the download")
    digest = file_sha256(part)
    if sha256 is not None and digest != sha256.lower():
        _discard(part)
        raise ChecksumError(f"checksum mismatch for {url}: SHA-256 {digest}, expected {sha256}: "
                            f"deleted the download")
    return digest
