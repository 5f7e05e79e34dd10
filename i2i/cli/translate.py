"""`i2i translate MODEL INPUT... -o OUT`: translate image files, folders or globs into ``OUT/<stem>.png``."""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import click

from i2i.cli.options import ComponentName, checkpoint_option, hardware_options, warn_if_slow
from i2i.errors import ConfigError, DataError

_GLOB_CHARS = frozenset("*?[")


def expand_inputs(patterns: tuple[str, ...]) -> list[Path]:
    """Files as given, a folder's images, and glob matches (expanded here for shells that do not), deduplicated."""
    from i2i.images import list_images

    found: list[Path] = []
    for pattern in patterns:
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
        raise DataError(f"no input images matched {' '.join(patterns)}")
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


def _write(image, path: Path) -> None:
    from i2i.images import write_image

    try:
        write_image(image, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _task_reader(task_name: str, config: dict, prepare):
    """Read an image, resize it as the model's evaluation does (its crop size, in its --preprocess mode), apply
    the task's ``preprocess``, then ``prepare``."""
    from i2i.augment import PairJitter
    from i2i.images import read_image
    from i2i.modeldir import train_preprocess
    from i2i.plugins import get_registry
    from i2i.registry import import_target

    task = get_registry().resolve("tasks", task_name)
    if not task.preprocess:
        raise ConfigError(f"task {task_name!r} has no input preprocessing; drop --task")
    preprocess = import_target(task.preprocess)
    crop = config["train_size"]["crop_size"]
    resize = PairJitter(crop, crop, flip=False, train=False, preprocess=train_preprocess(config)).resize
    return lambda path: prepare(preprocess(resize(read_image(path))))


def _readable(jobs: list[tuple[Path, str]], read, skip_bad: bool) -> list[tuple[Path, str, object]]:
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


@click.command("translate")
@click.argument("model")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), required=True, help="Folder for the outputs.")
@click.option("--mode", type=click.Choice(["paper", "eval"]),
              help="paper (dropout on, test-batch statistics) or eval; default: the model's.")
@click.option("--tile", type=int, metavar="SIZE",
              help="Translate overlapping SIZE-pixel tiles (a multiple of the model's size multiple).")
@click.option("--overlap", type=int, default=32, metavar="PX", show_default=True,
              help="Pixels that neighbouring tiles share and blend.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@hardware_options
@click.option("--batch-size", type=int, help="Images per forward pass (tiles, with --tile). [default: 1; 8 tiles]")
@click.option("--seed", type=int, help="Seed for paper mode's dropout: the same seed gives the same outputs.")
@click.option("--task", type=ComponentName("tasks"),
              help="Apply this task's input preprocessing first, at the model's crop size "
                   "(e.g. --task sketch2photo turns hand sketches into the edges an edges2shoes model saw).")
@click.option("--skip-bad-images", is_flag=True,
              help="Skip images that cannot be read (undecodable, animated, over the pixel limit) with a warning, "
                   "instead of stopping at the first.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@checkpoint_option
@click.pass_context
def translate_command(ctx, model, inputs, out, mode, tile, overlap, device, precision, cpu_gemm, batch_size, seed,
                      task, skip_bad_images, quiet, checkpoint) -> None:
    """Translate images with MODEL into OUT/<stem>.png.

    MODEL is a model dir, a run dir, a Hub id ORG/NAME[@REV] (pulled on demand) or a released id
    such as pix2pix/facades_label2photo. A run dir gives its final generator (model/), or with
    --checkpoint best|latest|epoch_N that checkpoint's.

    Each INPUT is an image file, a folder (its images) or a glob such as 'photos/*.jpg'. Any image
    size works: inputs are padded to what the generator needs and cropped back. Inputs sharing a
    stem are written as <stem>.png, <stem>-2.png, ... in the order given.
    """
    from tqdm import tqdm

    from i2i.resolver import resolve_model
    from i2i.translator import Translator

    if tile is None and ctx.get_parameter_source("overlap") is click.core.ParameterSource.COMMANDLINE:
        raise ConfigError("--overlap only applies with --tile SIZE")
    paths = expand_inputs(inputs)
    translator = Translator.load(resolve_model(model, checkpoint), device=device, mode=mode, precision=precision,
                                 tile=tile, overlap=overlap, batch_size=batch_size, seed=seed, cpu_gemm=cpu_gemm)
    warn_if_slow(translator.precision_choice)
    read = translator.prepare
    if task:
        read = _task_reader(task, translator.config, translator.prepare)
    per_call = translator.images_per_pass
    out_dir = Path(out)
    jobs = list(zip(paths, output_names(paths)))
    skipped = 0
    with tqdm(total=len(jobs), unit="img", disable=True if quiet else None, dynamic_ncols=True) as progress:
        for first in range(0, len(jobs), per_call):
            wanted = jobs[first:first + per_call]
            chunk = _readable(wanted, read, skip_bad_images)
            skipped += len(wanted) - len(chunk)
            progress.update(len(wanted) - len(chunk))
            results = translator.translate_batch([image for _, _, image in chunk])
            for (path, name, _), result in zip(chunk, results):
                _write(result, out_dir / name)
                progress.set_postfix_str(path.name, refresh=False)
                progress.update()
    if not quiet:
        bad = f" (skipped {skipped} bad image(s))" if skipped else ""
        click.echo(f"translated {len(jobs) - skipped} image(s) into {out_dir}{bad}", err=True)
