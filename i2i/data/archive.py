"""Safe extraction of tar (plain, gz, bz2, xz) and zip archives, and finding the split folders inside.

Only regular files and folders are extracted. An absolute path, a ``..`` component, a link, a device,
a fifo or a sparse file rejects the whole archive; every path is also checked to resolve inside the
target, and tar extraction uses the standard library's ``data`` filter on top. Callers extract into a
staging folder and publish it only when complete (see :func:`i2i.data.location.publish`).

Bombs: members' declared sizes (which tarfile and zipfile hold them to) are added up before each one is
written, and the archive is refused once the total would pass ``$I2I_MAX_EXTRACT_BYTES`` (default
200 GB), ``$I2I_MAX_EXTRACT_RATIO`` (default 100) times the archive's own size, or the free disk space.
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from i2i.core.errors import DataError
from i2i.data.limits import read_limit

MAX_BYTES_ENV, DEFAULT_MAX_BYTES = "I2I_MAX_EXTRACT_BYTES", 200e9
MAX_RATIO_ENV, DEFAULT_MAX_RATIO = "I2I_MAX_EXTRACT_RATIO", 100.0
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
_JUNK = ("__MACOSX", ".")


class UnsafeArchiveError(DataError):
    """An archive member would land outside the target or is not a plain file or folder."""


class ArchiveTooLargeError(DataError):
    """An archive would extract to more than the limits allow (a decompression bomb, or too little disk)."""


class _Budget:
    """Declared bytes extracted so far, checked against the limits before each member is written."""

    def __init__(self, archive: Path, target: Path) -> None:
        self.archive, self.total = archive, 0
        packed, ratio = archive.stat().st_size, read_limit(MAX_RATIO_ENV, DEFAULT_MAX_RATIO)
        self.limits = [  # (bytes, how to say it)
            (read_limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES), f"the limit of {{:,.0f}} bytes (raise it with {MAX_BYTES_ENV})"),
            (ratio * packed, f"{{:,.0f}} bytes, {ratio:g} times the archive's size (raise it with {MAX_RATIO_ENV})"),
            (shutil.disk_usage(target).free, f"the {{:,.0f}} bytes free on the disk of {target}"),
        ]

    def add(self, size: int, name: str) -> None:
        self.total += size
        for limit, what in self.limits:
            if self.total > limit:
                raise ArchiveTooLargeError(f"refusing {self.archive}: extracting it (up to {name!r}) would write "
                                           f"{self.total:,} bytes, more than {what.format(limit)}")


def _safe_path(target: Path, name: str, archive: Path) -> Path:
    """``target/name`` after checking that ``name`` is relative and stays inside ``target``."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix) or ".." in parts:
        raise UnsafeArchiveError(f"refusing {archive}: member {name!r} points outside the extraction folder")
    path = (target / posix).resolve()
    if not path.is_relative_to(target.resolve()):
        raise UnsafeArchiveError(f"refusing {archive}: member {name!r} resolves outside the extraction folder")
    return path


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym() or member.islnk():
        return "a link"
    if member.ischr() or member.isblk():
        return "a device"
    return "a fifo" if member.isfifo() else "not a regular file"


def _extract_tar(archive: Path, target: Path) -> None:
    budget = _Budget(archive, target)
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            _safe_path(target, member.name, archive)
            if not (member.isreg() or member.isdir()):
                raise UnsafeArchiveError(f"refusing {archive}: member {member.name!r} is {_kind(member)}")
            if member.issparse():
                raise UnsafeArchiveError(f"refusing {archive}: member {member.name!r} is a sparse file "
                                         f"({member.size:,} bytes once extracted)")
            budget.add(member.size, member.name)
            tar.extract(member, target, **_DATA_FILTER)


def _extract_zip(archive: Path, target: Path) -> None:
    budget = _Budget(archive, target)
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        for info in members:
            _safe_path(target, info.filename, archive)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no file type
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"refusing {archive}: member {info.filename!r} is not a regular file")
            budget.add(info.file_size, info.filename)  # all declared up front: refused before any byte is written
        for info in members:
            zipped.extract(info, target)


def extract(archive: Path | str, target: Path | str) -> Path:
    """Extract ``archive`` into the folder ``target`` (created; it must be empty if it exists).

    Raises :class:`UnsafeArchiveError` for an unsafe member (the target is then removed) and
    :class:`DataError` for a file that is not a readable tar or zip archive.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise DataError(f"cannot extract {archive} into {target}: the folder is not empty")
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, target)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, target)
        else:
            raise DataError(f"{archive} is not a tar or zip archive")
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise DataError(f"cannot extract {archive}: {exc}") from exc
    except DataError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def find_split_root(tree: Path, splits: tuple[str, ...]) -> Path:
    """The shallowest folder in ``tree`` holding one of the ``splits`` folders (``facades/`` for ``facades/train``)."""
    level = [tree]
    while level:
        for folder in level:
            if any((folder / split).is_dir() for split in splits):
                return folder
        level = sorted(child for folder in level for child in folder.iterdir()
                       if child.is_dir() and not child.name.startswith(_JUNK))
    raise DataError(f"no {'/, '.join(splits)}/ folder in {tree}: expected the split folders of a paired dataset")
