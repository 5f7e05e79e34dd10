"""Translate a data split with a model and score it: images, metrics.json and an HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable

import torch

from i2i.atomic import atomic_write_text
from i2i.images import write_image
from i2i.validation import displayable

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif}} td{{padding:4px;text-align:center}} img{{max-width:256px}}</style>
</head><body><h1>{title}</h1><p>{summary}</p>
<table><tr><th>name</th><th>input</th><th>output</th><th>target</th></tr>
{rows}
</table></body></html>
"""


def write_page(path: Path, title: str, scores: dict[str, float], names: list[str]) -> Path:
    """An HTML page with one row per image: input | output | target (from ``images/``)."""
    summary = ", ".join(f"{html.escape(k)}: {v:.4g}" for k, v in scores.items())
    rows = "\n".join(
        "<tr><td>{0}</td>{1}</tr>".format(
            html.escape(name),
            "".join(f'<td><img src="images/{html.escape(name)}_{kind}.png"></td>'
                    for kind in ("input", "output", "target")))
        for name in names)
    return atomic_write_text(path, _PAGE.format(title=html.escape(title), summary=summary, rows=rows))


def evaluate_split(translate: Callable[[torch.Tensor], torch.Tensor], dataset, metrics: dict[str, Any],
                   out: Path, title: str, progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Translate every pair of ``dataset``, update ``metrics``, write images, metrics.json and index.html.

    ``translate`` maps a (C, H, W) input in [-1, 1] to the output; metrics see (1, C, H, W) batches.
    """
    names: list[str] = []
    for index in range(len(dataset)):
        item = dataset[index]
        output = translate(item["a"])
        for metric in metrics.values():
            metric.update(output[None], item["b"][None])
        name = f"{index:05d}_{Path(item['path']).stem}"
        for kind, image in (("input", item["a"]), ("output", output), ("target", item["b"])):
            write_image(displayable(image), out / "images" / f"{name}_{kind}.png")
        names.append(name)
        progress(1)
    scores = {name: float(metric.compute()) for name, metric in metrics.items()}
    record = {"title": title, "count": len(names), "metrics": scores}
    atomic_write_text(out / "metrics.json", json.dumps(record, indent=2) + "\n")
    write_page(out / "index.html", title, scores, names)
    return record
