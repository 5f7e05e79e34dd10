"""Image files for ``i2i translate``: inputs from files, folders and globs, output names, the reading and writing."""

from __future__ import annotations

import glob
import sys
from collections.abc import Callable
from pathlib import Path

from i2i.core.errors import ConfigError, DataError

_GLOB_CHARS = frozenset("*?[")


def expand_inputs(patterns: tuple[str, ...] | list[str]) -> list[Path]:
    """Files as given, a folder's images, and glob matches (expanded here for shells that do not), deduplicated."""
    from i2i.data.images import list_images

    found: list[Path] = []
    for pattern in patterns:
        pattern = str(pattern)
        path = Path(pattern)
        if path.is_dir():
            found += list_images(path)
        elif path.is_file():
            found.append(path)
        elif _GLOB_CHARS & set(pattern):
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
            images = {image for folder in {m.parent for m in matches} for image in list_images(folder)}
            found += [m for m in matches if m in images]
        else:
            raise DataError(f"input not found: {pattern}")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise DataError(f"no input images matched {' '.join(str(p) for p in patterns)}")
    return unique


def output_names(inputs: list[Path]) -> list[str]:
    """``<stem>.png`` per input; a stem seen before gets ``-2``, ``-3``, ... in input order."""
    taken: set[str] = set()
    names = []
    for path in inputs:
        name, count = path.stem, 1
        while name.lower() in taken:
            count += 1
            name = f"{path.stem}-{count}"
        taken.add(name.lower())
        names.append(f"{name}.png")
    return names


def write_output(image, path: Path) -> None:
    """Write one output image; a failure (e.g. a full disk) is one line."""
    from i2i.data.images import write_image

    try:
        write_image(image, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from exc


def task_reader(task, config: dict, prepare: Callable) -> Callable[[Path], object]:
    """Read an image, resize it as the model's evaluation does (its crop size, in its --preprocess mode), apply
    ``task``'s ``preprocess``, then ``prepare``."""
    from i2i.core.registry import import_target
    from i2i.data.augment import PairJitter
    from i2i.data.images import read_image
    from i2i.models.modeldir import train_preprocess

    if not task.preprocess:
        raise ConfigError(f"task {task.name!r} has no input preprocessing; drop --task")
    preprocess = import_target(task.preprocess)
    crop = config["train_size"]["crop_size"]
    resize = PairJitter(crop, crop, flip=False, train=False, preprocess=train_preprocess(config)).resize
    return lambda path: prepare(preprocess(resize(read_image(path))))


def readable(jobs: list[tuple[Path, str]], read: Callable, skip_bad: bool) -> list[tuple[Path, str, object]]:
    """``(path, output name, model input)`` per job; an unreadable image stops, or is skipped with a warning."""
    from tqdm import tqdm

    ready = []
    for path, name in jobs:
        try:
            ready.append((path, name, read(path)))
        except DataError as exc:
            if not skip_bad:
                raise
            tqdm.write(f"i2i: warning: skipping bad image: {exc}", file=sys.stderr)
    return ready
