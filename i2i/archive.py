"""Safe extraction of tar (plain, gz, bz2, xz) and zip archives, and finding the split folders inside.

Only regular files and folders are extracted. An absolute path, a ``..`` component, a link, a device
or a fifo rejects the whole archive; every path is also checked to resolve inside the target, and
tar extraction uses the standard library's ``data`` filter on top. Callers extract into a staging
folder and publish it only when complete (see :func:`i2i.task_data.publish`).
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from i2i.errors import DataError

_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
_JUNK = ("__MACOSX", ".")


class UnsafeArchiveError(DataError):
    """An archive member would land outside the target or is not a plain file or folder."""


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
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            _safe_path(target, member.name, archive)
            if not (member.isreg() or member.isdir()):
                raise UnsafeArchiveError(f"refusing {archive}: member {member.name!r} is {_kind(member)}")
            tar.extract(member, target, **_DATA_FILTER)


def _extract_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            _safe_path(target, info.filename, archive)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no file type
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"refusing {archive}: member {info.filename!r} is not a regular file")
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
