"""The metrics of one evaluation: built from the registry, fed together, reported as named numbers.

Beyond :class:`i2i.core.components.Metric` (``update(output, target)``, ``compute() -> float``), a metric
may offer, each optional and duck-typed (declared for plugins in :mod:`i2i.api` as ``SeesInput``,
``SupportsValues``, ``SupportsReference`` and ``SupportsDraw``):

- ``sees_input = True``: ``update(output, target, source)`` also gets the generator's input (e.g. the
  label map that an FCN-score compares a segmentation with).
- ``values() -> dict[str, float]``: the named numbers to report instead of the one ``compute()``
  gives, as ``<metric>.<key>`` (``compute()`` stays the headline that training validation uses).
- ``reference() -> float | dict[str, float]``: the same numbers measured on the ground-truth images
  (the paper's "ground truth" row, e.g. the segmenter's score on the real photos).
- ``draw(runs: dict[str, Metric], path)`` (a classmethod): a PNG comparing one or more evaluated
  runs, e.g. the Lab colour distributions of each run's outputs against the ground truth.

A metric that cannot run here (weights the user has not supplied, an optional package missing)
raises :class:`MetricUnavailable` from its constructor, or from ``draw``; the evaluation reports it
as skipped with that reason instead of failing or dropping it silently.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

from i2i.core.errors import ConfigError, I2IError

if TYPE_CHECKING:
    import torch


class MetricUnavailable(I2IError):
    """A metric (or its plot) cannot run in this environment; the message says what would enable it."""


def flatten(name: str, value: float | dict[str, float]) -> dict[str, float]:
    """``{name: value}`` for one number, ``{name.key: v}`` for named numbers."""
    if isinstance(value, dict):
        return {f"{name}.{key}": float(v) for key, v in value.items()}
    return {name: float(value)}


class MetricSet:
    """Named metric instances that can run (``active``) and the reasons of those that cannot (``skipped``)."""

    def __init__(self, active: dict[str, Any], skipped: dict[str, str] | None = None) -> None:
        self.active, self.skipped = dict(active), dict(skipped or {})

    @classmethod
    def build(cls, registry, names: list[str], args: dict[str, dict[str, Any]] | None = None) -> "MetricSet":
        """Instantiate each registered metric with its ``args``; unavailable ones become skipped."""
        args = args or {}
        entries = {name: registry.get("metrics", name) for name in names}
        stray = set(args) - set(entries) - {entry.name for entry in entries.values()}
        if stray:
            raise ConfigError(f"metric arguments for {', '.join(sorted(stray))}, which is not among the metrics "
                              f"evaluated ({', '.join(names)})")
        active, skipped = {}, {}
        for name, entry in entries.items():
            kwargs = args.get(name, args.get(entry.name, {}))
            factory = entry.resolve()
            try:
                inspect.signature(factory).bind(**kwargs)
            except TypeError as exc:
                raise ConfigError(f"bad arguments {kwargs} for metric {name!r}: {exc}") from None
            try:
                active[name] = factory(**kwargs)
            except MetricUnavailable as exc:
                skipped[name] = str(exc)
        return cls(active, skipped)

    def update(self, source: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        """Feed one batch (N, C, H, W) in [-1, 1] to every metric."""
        for metric in self.active.values():
            if getattr(metric, "sees_input", False):
                metric.update(output, target, source)
            else:
                metric.update(output, target)

    def scores(self) -> dict[str, float]:
        """Every reported number: ``values()`` where a metric has them, else its ``compute()``."""
        found: dict[str, float] = {}
        for name, metric in self.active.items():
            found.update(flatten(name, metric.values() if hasattr(metric, "values") else metric.compute()))
        return found

    def reference(self) -> dict[str, float]:
        """The numbers of the metrics that also measure the ground truth, keyed as in :meth:`scores`."""
        found: dict[str, float] = {}
        for name, metric in self.active.items():
            if hasattr(metric, "reference"):
                found.update(flatten(name, metric.reference()))
        return found

    def drawable(self) -> dict[str, Any]:
        return {name: metric for name, metric in self.active.items() if hasattr(metric, "draw")}

    def draw(self, folder: Path, label: str = "output") -> dict[str, Path]:
        """``<metric>.png`` for each metric that draws; a missing plotting package adds a skipped entry."""
        return draw_runs({label: self}, folder, self.skipped)


def draw_runs(runs: dict[str, MetricSet], folder: Path, skipped: dict[str, str]) -> dict[str, Path]:
    """Plots comparing several evaluated runs (label → metric set), one per drawing metric.

    A plot that cannot be drawn is recorded in ``skipped`` as ``"<metric> plot"``.
    """
    plots: dict[str, Path] = {}
    first = next(iter(runs.values()), None)
    for name, metric in (first.drawable() if first else {}).items():
        members = {label: run.active[name] for label, run in runs.items() if name in run.active}
        path = Path(folder) / f"{name}.png"
        try:
            type(metric).draw(members, path)
        except MetricUnavailable as exc:
            skipped[f"{name} plot"] = str(exc)
            continue
        plots[name] = path
    return plots
