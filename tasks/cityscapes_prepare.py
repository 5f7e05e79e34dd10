"""Cityscapes as aligned pairs, built from the user's own copy (its licence forbids redistribution).

From the official folders ``leftImg8bit/<split>/<city>/<frame>_leftImg8bit.png`` (photos) and
``gtFine/<split>/<city>/<frame>_gtFine_color.png`` (colour label maps) it writes
``<split>/<frame>.png``: A = the photo (bicubic), B = the labels (nearest neighbour, so label colours
stay exact), each resized to 256×256 and placed side by side, as in the public pix2pix archive.
train → train (2975 pairs), val → val (500 pairs). The official test labels are not public, so there
is no test split: the paper evaluates on val (``i2i test MODEL --split val``).
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from i2i.api import DataError

SPLITS = ("train", "val")
SIZE = 256
_PHOTO, _LABELS = "_leftImg8bit.png", "_gtFine_color.png"


def find_frames(source: Path, split: str) -> list[tuple[Path, Path]]:
    """(photo, colour labels) of every frame of ``split``, sorted; a photo without labels is an error."""
    photos = sorted((source / "leftImg8bit" / split).glob(f"*/*{_PHOTO}"))
    if not photos:
        raise DataError(f"no */*{_PHOTO} photos in {source / 'leftImg8bit' / split}: "
                        f"expected the official Cityscapes leftImg8bit_trainvaltest folders")
    frames = []
    for photo in photos:
        labels = source / "gtFine" / split / photo.parent.name / photo.name.replace(_PHOTO, _LABELS)
        if not labels.is_file():
            raise DataError(f"missing labels {labels} for {photo}: expected the official gtFine_trainvaltest folders")
        frames.append((photo, labels))
    return frames


def write_pair(photo: Path, labels: Path, out: Path, size: int = SIZE) -> None:
    """Write photo | labels, each resized to ``size``×``size``, as one PNG."""
    from PIL import Image

    pair = Image.new("RGB", (2 * size, size))
    for x, (path, resample) in enumerate(((photo, Image.Resampling.BICUBIC), (labels, Image.Resampling.NEAREST))):
        with Image.open(path) as image:
            pair.paste(image.convert("RGB").resize((size, size), resample), (x * size, 0))
    pair.save(out)


def build_cityscapes(source: Path | str, dest: Path, *, size: int = SIZE, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Write the aligned train/ and val/ splits of the Cityscapes copy in ``source`` into ``dest``."""
    from tqdm import tqdm

    source = Path(source)
    missing = [name for name in ("leftImg8bit", "gtFine") if not (source / name).is_dir()]
    if missing:
        raise DataError(f"no {' or '.join(missing)}/ in {source}: expected the official Cityscapes folders "
                        f"leftImg8bit/ and gtFine/")
    jobs = []
    for split in SPLITS:
        frames = find_frames(source, split)
        (dest / split).mkdir(parents=True, exist_ok=True)
        jobs += [(photo, labels, dest / split / f"{photo.name.removesuffix(_PHOTO)}.png", size)
                 for photo, labels in frames]
    workers = workers or min(8, os.cpu_count() or 1)
    with tqdm(total=len(jobs), unit="pair", desc="cityscapes", leave=False,
              disable=None if progress else True) as bar:
        with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            mapper = pool.map if pool is not None else map
            for _ in mapper(write_pair, *zip(*jobs)):
                bar.update()
    return {"source": "cityscapes", "location": str(source.resolve())}
