"""Hub datasets as a source: paired parquet sets (e.g. ``huggan/*``) written out as aligned A|B files per split.

The parquet files (columns ``imageA`` and ``imageB``, each an image struct with ``bytes`` or raw
bytes) are fetched with ``huggingface_hub.snapshot_download`` (``$HF_ENDPOINT`` picks the server).
These sets merge the original splits into one; rows are read in order (parquet files sorted by
name) and split again deterministically:

- sets whose original split sizes the task gives (``DataSource.split_sizes``, used only when the row count
  matches): consecutive rows, e.g. facades rows 0–399 → train, 400–499 → val, 500–605 → test;
- any other set: by the SHA-256 of each row's A image, as a fraction of 2**256: below 0.90 → train,
  below 0.95 → val, else test (stable when rows are added, removed or reordered).

Pairs are written as ``<split>/<n>.jpg`` (quality 95) when both halves are JPEG, else ``.png``; a B
half of another size is resized to A's (bicubic). Needs pyarrow (``pip install 'i2i-pix2pix[hub-data]'``).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from tqdm import tqdm

from i2i.core.errors import ConfigError, DataError

HASH_SPLIT = (("train", 0.90), ("val", 0.95), ("test", 1.0))
COLUMNS = ("imageA", "imageB")
_SPLIT_RANK = {"train": 0, "validation": 1, "val": 1, "test": 2}
_JPEG = b"\xff\xd8"


class HubDataError(DataError):
    """The Hub dataset could not be fetched or read."""


class _SilentTqdm(tqdm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "disable": True})


def _pyarrow():
    try:
        import pyarrow.parquet
    except ImportError:
        raise ConfigError("Hub datasets need pyarrow: pip install 'i2i-pix2pix[hub-data]'") from None
    return pyarrow.parquet


def fetch_parquet(repo_id: str, folder: Path, revision: str | None = None, progress: bool = True) -> list[Path]:
    """Download the dataset's parquet files into ``folder``; return them in row order."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError

    try:
        snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns="*.parquet",
                          local_dir=folder, tqdm_class=None if progress else _SilentTqdm)
    except (HfHubHTTPError, HFValidationError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HubDataError(f"cannot download Hub dataset {repo_id}: {reason}") from None
    files = [p for p in folder.rglob("*.parquet") if ".cache" not in p.relative_to(folder).parts]
    if not files:
        raise HubDataError(f"Hub dataset {repo_id} has no parquet files")
    return sorted(files, key=lambda p: (_SPLIT_RANK.get(p.stem.split("-")[0], 3), p.as_posix()))


def _image_bytes(value, repo_id: str) -> bytes:
    data = value.get("bytes") if isinstance(value, dict) else value
    if not isinstance(data, bytes):
        raise HubDataError(f"Hub dataset {repo_id}: an image cell holds no bytes")
    return data


def read_rows(files: list[Path], repo_id: str) -> tuple[int, Iterator[tuple[bytes, bytes]]]:
    """The row count and an iterator over ``(A bytes, B bytes)`` of every row, in order."""
    pq = _pyarrow()
    parquets = [pq.ParquetFile(path) for path in files]
    for parquet, path in zip(parquets, files):
        missing = [c for c in COLUMNS if c not in parquet.schema_arrow.names]
        if missing:
            raise HubDataError(f"Hub dataset {repo_id}: {path.name} has no column {', '.join(missing)} "
                               f"(columns: {', '.join(parquet.schema_arrow.names)})")

    def rows() -> Iterator[tuple[bytes, bytes]]:
        for parquet in parquets:
            for batch in parquet.iter_batches(batch_size=64, columns=list(COLUMNS)):
                for a, b in zip(*(batch.column(c).to_pylist() for c in COLUMNS)):
                    yield _image_bytes(a, repo_id), _image_bytes(b, repo_id)

    return sum(p.metadata.num_rows for p in parquets), rows()


SplitSizes = tuple[tuple[str, int], ...]


def split_of(count: int, split_sizes: SplitSizes = ()) -> Callable[[int, bytes], str]:
    """``split(row_index, a_bytes) -> split name`` for a set of ``count`` rows (see the module docstring)."""
    if split_sizes and sum(size for _, size in split_sizes) == count:
        bounds, end = [], 0
        for name, size in split_sizes:
            end += size
            bounds.append((end, name))
        return lambda index, _a: next(name for end, name in bounds if index < end)

    def by_hash(_index: int, a: bytes) -> str:
        fraction = int.from_bytes(hashlib.sha256(a).digest(), "big") / 2**256
        return next(name for name, upper in HASH_SPLIT if fraction < upper)

    return by_hash


def _side_by_side(a: bytes, b: bytes, name: str):
    from PIL import Image

    from i2i.data.images import check_pixels

    with Image.open(io.BytesIO(a)) as left, Image.open(io.BytesIO(b)) as right:
        for image in (left, right):
            check_pixels(*image.size, name)
        mode = left.mode if left.mode == right.mode and left.mode in ("L", "RGB") else "RGB"
        left, right = left.convert(mode), right.convert(mode)
        if right.size != left.size:
            right = right.resize(left.size, Image.Resampling.BICUBIC)
        pair = Image.new(mode, (2 * left.width, left.height))
        pair.paste(left, (0, 0))
        pair.paste(right, (left.width, 0))
    return pair


def write_pairs(repo_id: str, files: list[Path], dest: Path, *, split_sizes: SplitSizes = (),
                progress: bool = True) -> dict[str, int]:
    """Write every row as an aligned A|B file into ``dest/<split>/``; return the count per split."""
    from PIL import Image

    count, rows = read_rows(files, repo_id)
    split = split_of(count, split_sizes)
    counts: dict[str, int] = {}
    for index, (a, b) in enumerate(tqdm(rows, total=count, unit="pair", desc=repo_id, leave=False,
                                        disable=None if progress else True)):
        name = split(index, a)
        counts[name] = counts.get(name, 0) + 1
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        jpeg = a.startswith(_JPEG) and b.startswith(_JPEG)
        path = folder / f"{counts[name]:05d}.{'jpg' if jpeg else 'png'}"
        try:
            pair = _side_by_side(a, b, f"row {index} of Hub dataset {repo_id}")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise HubDataError(f"Hub dataset {repo_id}: row {index} is not a readable image pair ({exc})") from None
        pair.save(path, **({"quality": 95} if jpeg else {}))
    return counts


def hub_to_aligned(repo_id: str, dest: Path, *, split_sizes: SplitSizes = (), revision: str | None = None,
                   progress: bool = True) -> dict:
    """Fetch ``repo_id`` and write its pairs into ``dest``; return what was written (for the cache marker)."""
    _pyarrow()  # fail before downloading anything
    download = dest / ".parquet"
    try:
        write_pairs(repo_id, fetch_parquet(repo_id, download, revision, progress), dest, split_sizes=split_sizes,
                    progress=progress)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return {"source": "hub", "location": repo_id, "revision": revision}
