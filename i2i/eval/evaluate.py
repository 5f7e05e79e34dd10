"""Score a data split's outputs: images, metrics.json, summary.md, plots and an HTML page.

Outputs come from translating the split with a model (:func:`translated`) or from a folder of images
made earlier, matched to the split's pairs by name (:func:`read_outputs`).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch
from torchvision.transforms.v2 import functional as F

from i2i.core.atomic import atomic_write_text
from i2i.core.errors import DataError
from i2i.data.datasets import PairDataset
from i2i.data.images import displayable, list_images, match_channels, read_image, to_signed_unit, write_image
from i2i.eval.metric_set import MetricSet
from i2i.eval.report import report_html, summary_markdown
from i2i.models.compose import Compose, composed

OUTPUT_SUFFIXES = ("_fake_B", "_output")
"""Name endings of output images that :func:`read_outputs` strips: the PyTorch port's results pages
(``<stem>_fake_B.png``) and ``i2i test``/``i2i eval``'s ``images/<index>_<stem>_output.png``."""

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif}} td,th{{padding:4px;text-align:center}} img{{max-width:256px}}
img.plot{{max-width:100%}} table.metrics th{{text-align:left}}</style>
</head><body><h1>{title}</h1>{report}
<table><tr><th>name</th><th>input</th><th>output</th><th>target</th></tr>
{rows}
</table></body></html>
"""


@dataclass
class EvalItem:
    """One pair to score: its name, the generator input, the output and the target, (C, H, W) in [-1, 1]."""

    name: str
    source: torch.Tensor
    output: torch.Tensor
    target: torch.Tensor


def pick_split(root: Path, split: str | None) -> str:
    """``split``, else ``test`` where the data has that folder, else ``val`` (Cityscapes has no test labels)."""
    return split or ("test" if (Path(root) / "test").is_dir() else "val")


def split_dataset(task, root: Path, split: str, *, direction: str, in_channels: int, out_channels: int,
                  size: int, preprocess: str = "resize_and_crop", limit: int | None = None) -> PairDataset:
    """A split of ``task``'s data for evaluation: each image resized as ``preprocess`` evaluates at ``size``
    (the model's crop; resize_and_crop: to ``size`` square), no jitter; only the first ``limit`` pairs if given."""
    dataset = PairDataset(root, split, layout=task.layout, direction=direction, in_channels=in_channels,
                          out_channels=out_channels, load_size=size, crop_size=size, train=False,
                          pair_maker=task.pair_maker, preprocess=preprocess)
    if limit is not None:
        dataset.items = dataset.items[:limit]
    return dataset


def _item_name(index: int, path: str) -> str:
    return f"{index:05d}_{Path(path).stem}"


def translated(translate: Callable[[torch.Tensor], torch.Tensor], dataset, compose: Compose | None = None
               ) -> Iterator[EvalItem]:
    """The pairs of ``dataset`` with ``translate(input)`` as the output (a delivered image: the translator
    composes it) and ``compose(input, target)`` as the target (:mod:`i2i.models.compose`)."""
    for index in range(len(dataset)):
        item = dataset[index]
        yield EvalItem(_item_name(index, item["path"]), item["a"], translate(item["a"]),
                       composed(compose, item["a"], item["b"]))


def _output_keys(stem: str) -> set[str]:
    """The pair stems an output file named ``stem`` may stand for."""
    keys = {stem}
    for suffix in OUTPUT_SUFFIXES:
        if stem.endswith(suffix):
            base = stem[: -len(suffix)]
            keys.add(base)
            if re.fullmatch(r"\d{5}_.+", base):
                keys.add(base[6:])
    return keys


def read_outputs(folder: Path | str, dataset, compose: Compose | None = None) -> Iterator[EvalItem]:
    """The pairs of ``dataset`` with outputs read from ``folder``, matched by the pair's file stem; the
    targets are ``compose(input, target)``, the delivered images the outputs are.

    An output named ``<stem>.*``, ``<stem>_fake_B.*`` or ``<index>_<stem>_output.*`` belongs to the
    pair ``<stem>``; it is resized (bilinear, antialiased) to the target's size when they differ.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"--outputs {folder} is not a folder")
    found: dict[str, list[Path]] = {}
    for path in list_images(folder):
        for key in _output_keys(path.stem):
            found.setdefault(key, []).append(path)
    stems = [Path(path[0]).stem for path in dataset.items]
    missing = [stem for stem in stems if stem not in found]
    if missing:
        raise DataError(f"{len(missing)} of {len(stems)} pairs have no output in {folder} "
                        f"(e.g. {', '.join(missing[:3])}); name outputs after the pairs' files")
    for index, stem in enumerate(stems):
        if len(found[stem]) > 1:
            raise DataError(f"several outputs in {folder} match pair {stem!r}: "
                            f"{', '.join(p.name for p in found[stem][:3])}")
        item = dataset[index]
        target = composed(compose, item["a"], item["b"])
        output = match_channels(to_signed_unit(read_image(found[stem][0])), target.shape[0])
        if output.shape[-2:] != target.shape[-2:]:
            output = F.resize(output, list(target.shape[-2:]), antialias=True).clamp(-1, 1)
        yield EvalItem(_item_name(index, item["path"]), item["a"], output, target)


def write_page(path: Path, record: dict[str, Any], names: list[str]) -> Path:
    """An HTML page: the metric table, skipped metrics, plots, then one row per image (input | output | target)."""
    rows = "\n".join(
        "<tr><td>{0}</td>{1}</tr>".format(
            html.escape(name),
            "".join(f'<td><img src="images/{html.escape(name)}_{kind}.png"></td>'
                    for kind in ("input", "output", "target")))
        for name in names)
    page = _PAGE.format(title=html.escape(record["title"]), report=report_html(record), rows=rows)
    return atomic_write_text(path, page)


def evaluate_items(items: Iterable[EvalItem], metrics: MetricSet, out: Path, title: str,
                   progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Score ``items``; write ``images/``, metrics.json, summary.md, the plots and index.html into ``out``."""
    out = Path(out)
    names: list[str] = []
    for item in items:
        metrics.update(item.source[None], item.output[None], item.target[None])
        for kind, image in (("input", item.source), ("output", item.output), ("target", item.target)):
            write_image(displayable(image), out / "images" / f"{item.name}_{kind}.png")
        names.append(item.name)
        progress(1)
    record: dict[str, Any] = {"title": title, "count": len(names), "metrics": metrics.scores()}
    reference = metrics.reference()
    if reference:
        record["reference"] = reference
    plots = metrics.draw(out)
    if metrics.skipped:
        record["skipped"] = metrics.skipped
    if plots:
        record["plots"] = {name: plot.name for name, plot in plots.items()}
    atomic_write_text(out / "metrics.json", json.dumps(record, indent=2) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(record))
    write_page(out / "index.html", record, names)
    return record


def report_dir(path: Path, kind: str, split: str) -> Path:
    """Where ``i2i test``/``i2i eval`` write by default: ``RUN/<kind>-<split>`` for a run dir,
    ``<path>-<kind>-<split>`` beside a model dir or outputs folder (never inside a model dir), and
    ``./<NAME>-<kind>-<split>`` for a Hub or released id (never a folder that would shadow the id)."""
    name = f"{kind}-{split}"
    if not path.exists():
        return Path(f"{path.name}-{name}")
    if (path / "model" / "config.json").is_file():
        return path / name
    return path.with_name(f"{path.name}-{name}")
