"""Datasets of (A, B) pairs read from a data root in one of the task layouts.

Layouts (``root/<split>/`` is the split folder):

- ``aligned``: one file per pair, A the left half and B the right half (split at ``width // 2``), as in
  the public pix2pix archives.
- ``folders``: ``<split>/A/`` and ``<split>/B/`` holding files with the same stems (suffixes may differ).
- ``photos``: single photos in ``<split>/``; a task's ``pair_maker(photo, generator) -> (A, B)`` makes
  each pair from the jittered photo (uint8 RGB (3, H, W)), returning float tensors in [-1, 1].
- ``auto``: ``folders`` where the split folder (or the flat root) holds ``A/`` and ``B/``, else ``aligned``.

A flat root, with no ``train/``, ``val/`` or ``test/`` folder and the files (or ``A/`` + ``B/``) directly in
it, is split by each file name's hash: ~90% train, ~5% val, ~5% test, stable when files are added or removed.

Files are any image torchvision decodes (8- or 16-bit, 1–4 channels) or ``.npy`` arrays (H, W, C) of
uint8, uint16 or float32 in [0, 1] for N-channel data (loaded without unpickling).
"""

from __future__ import annotations

import sys
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F

from i2i.core.errors import ConfigError, DataError
from i2i.core.task import Direction, Layout, Task
from i2i.data.augment import PairJitter
from i2i.data.images import display_path, list_images, match_channels, read_image, to_signed_unit
from i2i.data.sampling import ItemKey, derive_seed, item_generator

PairMaker = Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
PHOTO_SPLIT = {"train": (0.0, 0.90), "val": (0.90, 0.95), "test": (0.95, 1.0)}
_EXPECTED = {
    "aligned": "images with A on the left half and B on the right",
    "folders": "A/ and B/ folders of images with matching names",
    "photos": "photos",
    "auto": "A/ and B/ folders of images with matching names, or images with A on the left half and B on the right",
}


def is_flat(root: Path | str) -> bool:
    """Whether ``root`` has none of the split folders (its pairs are split by file name hash)."""
    return not any((Path(root) / split).is_dir() for split in PHOTO_SPLIT)


def resolve_layout(root: Path | str, split: str, layout: Layout) -> Layout:
    """``layout``, with ``auto`` decided from the data: ``folders`` where there are ``A/`` and ``B/``, else ``aligned``."""
    if layout not in get_args(Layout):
        raise ConfigError(f"unknown data layout {layout!r}: use one of {', '.join(get_args(Layout))}")
    if layout != "auto":
        return layout
    folder = Path(root) if is_flat(root) else Path(root) / split
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        return "folders"
    if folder.is_dir() and list_images(folder):
        return "aligned"
    if not folder.is_dir():
        raise DataError(f"missing split folder {folder}: expected {_EXPECTED['auto']} there")
    raise DataError(f"{folder} holds neither A/ and B/ folders nor images: expected {_EXPECTED['auto']}")


def has_split(root: Path | str, split: str, layout: Layout) -> bool:
    """Whether ``split`` has pairs: its folder exists, or a flat root's hash split gives it some."""
    if (Path(root) / split).is_dir():
        return True
    try:
        return is_flat(root) and bool(find_items(root, split, layout))
    except DataError:
        return False


def find_items(root: Path | str, split: str, layout: Layout) -> list[tuple[Path, ...]]:
    """The files of each pair of ``split``, sorted by name: ``(path,)`` or, for folders, ``(a, b)``."""
    layout = resolve_layout(root, split, layout)
    root = Path(root)
    folder = root / split
    if not folder.is_dir() and root.is_dir() and is_flat(root):
        if layout == "folders" and (root / "A").is_dir() and (root / "B").is_dir():
            return _hash_split(_match_folders(root), split, root)
        if layout != "folders" and list_images(root):
            return _hash_split([(path,) for path in list_images(root)], split, root)
    if not folder.is_dir():
        raise DataError(f"missing split folder {folder}: expected {_EXPECTED[layout]} there")
    if layout == "folders":
        return _match_folders(folder)
    return [(path,) for path in _nonempty(folder, layout)]


def _nonempty(folder: Path, layout: Layout) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"missing folder {folder}: expected {_EXPECTED[layout]}")
    paths = list_images(folder)
    if not paths:
        raise DataError(f"no images in {folder}: expected {_EXPECTED[layout]}")
    return paths


def _by_stem(folder: Path) -> dict[str, Path]:
    paths = _nonempty(folder, "folders")
    stems = {path.stem: path for path in paths}
    if len(stems) != len(paths):
        clash = sorted({p.name for p in paths if stems[p.stem] != p})[:3]
        raise DataError(f"two files share a name in {folder} (e.g. {', '.join(clash)}): keep one per stem")
    return stems


def _match_folders(folder: Path) -> list[tuple[Path, Path]]:
    a, b = _by_stem(folder / "A"), _by_stem(folder / "B")
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        unmatched = [f"{len(names)} only in {side}/ ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
                     for side, names in (("A", only_a), ("B", only_b)) if names]
        raise DataError(f"unmatched files in {folder}: {'; '.join(unmatched)}")
    return [(a[stem], b[stem]) for stem in sorted(a)]


def _hash_split(items: list[tuple[Path, ...]], split: str, root: Path) -> list[tuple[Path, ...]]:
    if split not in PHOTO_SPLIT:
        raise DataError(f"missing split folder {root / split}: files directly in {root} split only into "
                        f"{', '.join(PHOTO_SPLIT)}")
    low, high = PHOTO_SPLIT[split]
    chosen = [item for item in items if low <= derive_seed("split", item[0].name) / 2**63 < high]
    if not chosen:
        raise DataError(f"no files fall in split {split!r} of {root} ({len(items)} in all): add files "
                        f"or make {root / split}/")
    return chosen


def subset(items: list, count: int | None, seed: int) -> list:
    """At most ``count`` of ``items``, chosen by ``seed`` (the same ones on every run), in their order."""
    if count is None or len(items) <= count:
        return items
    generator = torch.Generator().manual_seed(derive_seed(seed, "subset"))
    return [items[i] for i in sorted(torch.randperm(len(items), generator=generator)[:count].tolist())]


def describe_data(dataset: "PairDataset") -> str:
    """How a dataset's files were read, e.g. ``A/ + B/ folders in train/ val/ test/``, for the run's header."""
    kind = {"aligned": "A|B side-by-side images", "folders": "A/ + B/ folders", "photos": "photos"}[dataset.layout]
    if not is_flat(dataset.root):
        return f"{kind} in {dataset.root}"
    shares = ", ".join(f"{round(100 * (high - low))}% {split}" for split, (low, high) in PHOTO_SPLIT.items())
    return f"{kind} directly in {dataset.root} (no train/ val/ test/ folders: split by file name hash, {shares})"


def resolve_pair_maker(pair_maker: PairMaker | str | None) -> PairMaker:
    """A pair maker from a callable or a lazy ``"module:attr"`` string."""
    if pair_maker is None:
        raise ConfigError("the photos layout needs a pair_maker(photo, generator) -> (A, B)")
    if not isinstance(pair_maker, str):
        return pair_maker
    try:
        return pkgutil.resolve_name(pair_maker)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"cannot load pair maker {pair_maker!r}: {exc}") from exc


class _DecodeCache:
    """Decoded (and resized) images per item, kept until ``budget`` bytes are used."""

    def __init__(self, budget: int) -> None:
        self._items: dict[int, tuple[torch.Tensor, ...]] = {}
        self._left = budget

    def get(self, index: int, make: Callable[[], tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
        images = self._items.get(index)
        if images is None:
            images = make()
            size = sum(image.nbytes for image in images)
            if size <= self._left:
                self._items[index], self._left = images, self._left - size
        return images


class PairDataset(Dataset):
    """(A, B) pairs of one split as ``{"a": input, "b": target, "path": str}``.

    ``a`` is the generator input after ``direction`` (``BtoA`` swaps A and B), with ``in_channels``;
    ``b`` the target, with ``out_channels``; both float32 (C, H, W) in [-1, 1]. ``train`` (default: the
    split is "train") selects random jitter or the plain evaluation resize, in the port's ``preprocess``
    mode (see :mod:`i2i.data.augment`).
    Randomness comes from ``(seed, epoch, index)`` only: index with ``(epoch, index)`` keys (what
    :mod:`i2i.data.sampling` yields) or with an int after :meth:`set_epoch`; in evaluation epoch is ignored.

    ``max_items`` keeps that many items at most, a subset fixed by ``seed`` (:func:`subset`).
    Decoded, resized images stay in memory up to ``cache_bytes`` per process (each worker has its own).
    With ``skip_bad_images`` an undecodable file is reported once per process (a warning naming it) and
    replaced by the next decodable item in index order; otherwise access raises :class:`DataError`.
    """

    def __init__(
        self, root: Path | str, split: str = "train", *, layout: Layout = "aligned", direction: Direction = "AtoB",
        in_channels: int = 3, out_channels: int = 3, load_size: int = 286, crop_size: int = 256,
        flip: bool = True, train: bool | None = None, pair_maker: PairMaker | str | None = None, seed: int = 0,
        cache_bytes: int = 2 << 30, skip_bad_images: bool = False, max_items: int | None = None,
        preprocess: str = "resize_and_crop",
    ) -> None:
        if direction not in get_args(Direction):
            raise ConfigError(f"unknown direction {direction!r}: use AtoB or BtoA")
        self.root, layout = Path(root), resolve_layout(root, split, layout)
        self.items = subset(find_items(root, split, layout), max_items, seed)
        self.layout, self.swap = layout, direction == "BtoA"
        self.in_channels, self.out_channels = in_channels, out_channels
        self.jitter = PairJitter(load_size, crop_size, flip, split == "train" if train is None else train, preprocess)
        self.pair_maker = resolve_pair_maker(pair_maker) if layout == "photos" else None
        self.seed, self.epoch, self.skip_bad_images = seed, 0, skip_bad_images
        self._cache = _DecodeCache(cache_bytes)
        self._bad: set[int] = set()

    @classmethod
    def for_task(cls, task: Task, root: Path | str, split: str = "train", **options) -> PairDataset:
        """A dataset with ``task``'s layout, direction, channels, sizes, flip and pair maker; ``options`` override."""
        recipe = task.recipe
        defaults = dict(
            layout=task.layout, direction=task.direction, in_channels=task.in_channels,
            out_channels=task.out_channels, load_size=recipe.load_size, crop_size=recipe.crop_size,
            flip=recipe.flip, pair_maker=task.pair_maker, preprocess=recipe.preprocess,
        )
        return cls(root, split, **{**defaults, **options})

    def set_epoch(self, epoch: int) -> None:
        """The epoch that integer indexing uses for its randomness."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | ItemKey) -> dict:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        epoch = epoch if self.jitter.train else 0
        used, images = self._load(index)
        params = self.jitter.sample(item_generator(self.seed, epoch, index, "jitter"), tuple(images[0].shape[-2:]))
        images = tuple(self.jitter.apply(image, params) for image in images)
        if self.pair_maker is not None:
            a, b = self.pair_maker(images[0], item_generator(self.seed, epoch, index, "pair"))
        else:
            a, b = (to_signed_unit(image) for image in images)
        if self.swap:
            a, b = b, a
        path = str(self.items[used][0])
        try:
            a, b = match_channels(a, self.in_channels), match_channels(b, self.out_channels)
        except DataError as exc:
            raise DataError(f"{exc} (reading {display_path(path)})") from None
        return {"a": a, "b": b, "path": path}

    def _load(self, index: int) -> tuple[int, tuple[torch.Tensor, ...]]:
        """The item to use for ``index`` and its resized images (the next good one when skipping)."""
        if not self.skip_bad_images:
            return index, self._cache.get(index, lambda: self._decode(index))
        for offset in range(len(self)):
            used = (index + offset) % len(self)
            if used in self._bad:
                continue
            try:
                return used, self._cache.get(used, lambda: self._decode(used))
            except DataError as exc:
                self._bad.add(used)
                print(f"i2i: warning: skipping bad image: {exc}", file=sys.stderr, flush=True)
        raise DataError(f"no decodable images among the {len(self)} files of {self.items[0][0].parent}")

    def _decode(self, index: int) -> tuple[torch.Tensor, ...]:
        paths = self.items[index]
        if self.layout == "folders":
            images = tuple(read_image(path) for path in paths)
        elif self.layout == "aligned":
            image = read_image(paths[0])
            if image.shape[-1] < 2:
                raise DataError(f"{display_path(paths[0])} is {image.shape[-1]}x{image.shape[-2]} pixels: too narrow to "
                                f"hold A and B side by side")
            half = image.shape[-1] // 2
            images = (image[..., :half], image[..., half:])
        else:
            images = (match_channels(F.to_dtype(read_image(paths[0]), torch.uint8, scale=True), 3),)
        return tuple(self.jitter.resize(image) for image in images)
