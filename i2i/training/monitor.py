"""Run monitoring: ``RUN/index.html`` (loss curves, validation metrics and sample grids per epoch), plain
progress lines where there is no terminal, and the optional experiment trackers (:mod:`i2i.training.trackers`).

The page is one self-contained file: curves are inline SVG drawn here, the data behind them sits in the
page as JSON (``<script type="application/json" id="i2i-data">``), and sample grids are linked from
``samples/``; nothing loads from the network. While the run trains the page reloads itself every
``REFRESH_SECONDS``; the page written after the last epoch does not.
"""

from __future__ import annotations

import html
import json
import sys
import time
from pathlib import Path
from typing import Any

from i2i.core.atomic import atomic_write_text
from i2i.training import distributed
from i2i.training.rundir import RunDir
from i2i.training.trackers import Tracker

PAGE = "index.html"
REFRESH_SECONDS = 30
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_WIDTH, _HEIGHT, _MARGIN = 560, 220, 48


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``; a line cut short by a crash is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def loss_groups(records: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per-step losses grouped into charts: one per G term (``G l1``, ``G cgan``, ...) and one for D
    (``loss_d`` with its real and fake parts); each series is ``[(step, value), ...]``."""
    groups: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for record in records:
        for key, value in record.items():
            if not key.startswith("loss_") or not isinstance(value, (int, float)) or key == "loss_g":
                continue
            name = key.removeprefix("loss_")
            title = "D real / fake" if name.startswith("d") else f"G {name.removeprefix('g_')}"
            groups.setdefault(title, {}).setdefault(name, []).append((record["step"], float(value)))
    return dict(sorted(groups.items(), key=lambda item: (item[0].startswith("D"), item[0])))


def validation_series(records: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """``metric -> [(epoch, value), ...]`` from the epoch records' ``val``."""
    series: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        for name, value in (record.get("val") or {}).items():
            series.setdefault(name, []).append((record["epoch"], float(value)))
    return series


def _number(value: float) -> str:
    return f"{value:.4g}"


def svg_chart(title: str, series: dict[str, list[tuple[float, float]]], x_label: str) -> str:
    """A line chart as inline SVG: one polyline per series, axis ranges and a legend."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    x_min, x_max = min(p[0] for p in points), max(p[0] for p in points)
    y_min, y_max = min(p[1] for p in points), max(p[1] for p in points)
    x_span, y_span = (x_max - x_min) or 1.0, (y_max - y_min) or 1.0
    plot_w, plot_h = _WIDTH - 2 * _MARGIN, _HEIGHT - 2 * _MARGIN

    def xy(x: float, y: float) -> str:
        return f"{_MARGIN + (x - x_min) / x_span * plot_w:.1f},{_HEIGHT - _MARGIN - (y - y_min) / y_span * plot_h:.1f}"

    parts = [f'<svg class="chart" width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
             f'role="img" aria-label="{html.escape(title)}">',
             f'<text x="{_WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
             f'<rect x="{_MARGIN}" y="{_MARGIN}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
             f'<text x="{_MARGIN - 4}" y="{_MARGIN + 4}" text-anchor="end">{_number(y_max)}</text>',
             f'<text x="{_MARGIN - 4}" y="{_HEIGHT - _MARGIN}" text-anchor="end">{_number(y_min)}</text>',
             f'<text x="{_MARGIN}" y="{_HEIGHT - _MARGIN + 16}">{_number(x_min)}</text>',
             f'<text x="{_WIDTH - _MARGIN}" y="{_HEIGHT - _MARGIN + 16}" text-anchor="end">{_number(x_max)}</text>',
             f'<text x="{_WIDTH / 2}" y="{_HEIGHT - _MARGIN + 16}" text-anchor="middle">{x_label}</text>']
    for index, (name, values) in enumerate(series.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        coords = " ".join(xy(x, y) for x, y in values)
        shape = (f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>' if len(values) > 1
                 else f'<circle r="3" fill="{colour}" cx="{coords.split(",")[0]}" cy="{coords.split(",")[1]}"/>')
        parts.append(f'<g data-series="{html.escape(name)}">{shape}</g>')
        parts.append(f'<text x="{_MARGIN + 8 + 110 * index}" y="{_MARGIN - 8}" fill="{colour}">'
                     f'{html.escape(name)} {_number(values[-1][1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _validation_table(series: dict[str, list[tuple[float, float]]]) -> str:
    epochs = sorted({epoch for values in series.values() for epoch, _ in values}, reverse=True)
    if not epochs:
        return ""
    lookup = {name: dict(values) for name, values in series.items()}
    head = "".join(f"<th>{html.escape(name)}</th>" for name in series)
    rows = "".join(f"<tr><td>{int(epoch)}</td>" + "".join(
        f"<td>{_number(lookup[name][epoch]) if epoch in lookup[name] else ''}</td>" for name in series) + "</tr>"
        for epoch in epochs)
    return f'<table class="val"><tr><th>epoch</th>{head}</tr>{rows}</table>'


def render_page(run: RunDir, records: list[dict[str, Any]], total_epochs: int, finished: bool) -> str:
    """The monitoring page of ``run`` from its metrics records and sample grids."""
    config = {}
    if run.config_path.is_file():
        try:
            config = json.loads(run.config_path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    epoch = max((r.get("epoch", 0) for r in records if "loss_g" not in r), default=0)
    step = max((r.get("step", 0) for r in records), default=0)
    updated = time.strftime("%Y-%m-%d %H:%M:%S")
    status = (f"finished: {epoch} epochs, {step} steps" if finished else
              f"training: {epoch} of {total_epochs} epochs done, step {step}; this page reloads every "
              f"{REFRESH_SECONDS} s")
    groups, validation = loss_groups(records), validation_series(records)
    charts = "".join(svg_chart(title, series, "step") for title, series in groups.items())
    val_charts = "".join(svg_chart(f"validation {name}", {name: values}, "epoch") for name, values in validation.items())
    samples = sorted(run.samples.glob("epoch_*.png"), reverse=True) if run.samples.is_dir() else []
    figures = "".join(f'<figure><img src="samples/{html.escape(path.name)}" alt="{html.escape(path.stem)}">'
                      f'<figcaption>{html.escape(path.stem.replace("_", " "))}: input | output | target'
                      f'</figcaption></figure>' for path in samples)
    summary = ", ".join(f"{key} {html.escape(str(config[key]))}" for key in
                        ("task", "generator", "discriminator", "loss", "batch_size", "crop_size") if key in config)
    data = json.dumps({"losses": groups, "validation": validation, "epochs_done": epoch,
                       "total_epochs": total_epochs, "finished": finished}).replace("</", "<\\/")
    refresh = "" if finished else f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
    title = html.escape(run.path.name)
    return f"""<!doctype html>
<html><head><meta charset="utf-8">{refresh}<title>{title}: i2i run</title>
<style>body{{font-family:sans-serif;margin:1em}} svg.chart{{font-size:11px;margin:4px;background:#fafafa}}
table.val td,table.val th{{padding:2px 8px;text-align:right}} figure{{display:inline-block;margin:6px}}
img{{min-width:256px;max-width:100%;image-rendering:pixelated}} .status{{color:#555}}</style>
</head><body><h1>{title}</h1>
<p class="status">{html.escape(status)}; updated {updated}</p><p>{summary}</p>
<h2>Losses</h2><div>{charts or "<p>no losses logged yet</p>"}</div>
<h2>Validation</h2><div>{val_charts}</div>{_validation_table(validation) or "<p>no validation yet</p>"}
<h2>Samples</h2><div>{figures or "<p>no sample grid yet</p>"}</div>
<script type="application/json" id="i2i-data">{data}</script>
</body></html>
"""


def write_page(run: RunDir, total_epochs: int) -> Path:
    """Rewrite ``RUN/index.html`` from the run's files; finished once an epoch record reaches ``total_epochs``."""
    records = read_records(run.metrics_path)
    finished = any(r.get("epoch", 0) >= total_epochs and "loss_g" not in r for r in records)
    path = run.path / PAGE
    atomic_write_text(path, render_page(run, records, total_epochs, finished))
    return path


class RunMonitor:
    """Gets every record the run logs: updates the page, prints a line per record where stderr is no
    terminal (progress bars need one), and forwards records and sample grids to the trackers."""

    def __init__(self, run: RunDir, total_epochs: int, steps_per_epoch: int, trackers: list[Tracker] = (),
                 *, quiet: bool = False, page_every: float = REFRESH_SECONDS) -> None:
        self.run, self.total_epochs, self.steps_per_epoch = run, total_epochs, steps_per_epoch
        self.trackers = list(trackers)
        self.lines = not quiet and not sys.stderr.isatty()
        self.page_every, self._page_written = page_every, None

    @distributed.main_process_only
    def log(self, record: dict[str, Any]) -> None:
        """A record just appended to metrics.jsonl: step losses, or an epoch's end (with ``val``)."""
        epoch_end = "loss_g" not in record
        for tracker in self.trackers:
            tracker.log(record)
            if epoch_end and self.run.sample(record["epoch"]).is_file():
                tracker.log_image("samples", self.run.sample(record["epoch"]), record["step"])
        if self.lines and not epoch_end:
            total = self.steps_per_epoch * self.total_epochs
            losses = ", ".join(f"{k.removeprefix('loss_')} {v:.3f}" for k, v in record.items() if k.startswith("loss_"))
            print(f"epoch {record['epoch']}/{self.total_epochs}, step {record['step']}/{total}, "
                  f"{record.get('img_per_s', 0):.2f} img/s: {losses}", file=sys.stderr, flush=True)
        if epoch_end or self._page_written is None or time.monotonic() - self._page_written >= self.page_every:
            write_page(self.run, self.total_epochs)
            self._page_written = time.monotonic()

    def close(self) -> None:
        """Finish every tracker (flushes their files); call once, however the run ends."""
        for tracker in self.trackers:
            tracker.close()
