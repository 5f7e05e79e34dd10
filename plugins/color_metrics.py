"""The paper's colour analysis: Lab marginal distributions and their histogram intersection, and colourfulness.

Images arrive as (N, C, H, W) in [-1, 1], read as sRGB (grey images as R = G = B). Lab is CIE 1976
L*a*b* of the sRGB primaries under the **D65** white point (2° observer), computed in torch by
:mod:`i2i.data.lab`; the tests check it against scikit-image's ``rgb2lab``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from i2i import api
from i2i.api import DataError, Metric, MetricUnavailable
from i2i_plugins.image_metrics import PerImageMetric

LAB_BINS = {"L": (-0.5, 100.5, 101), "a": (-128.5, 128.5, 257), "b": (-128.5, 128.5, 257)}
"""Histogram range and bin count per Lab channel: one-unit bins centred on the integers, covering every
sRGB colour (centred so that neutral greys, a = b = 0 up to rounding, never straddle a bin edge)."""
PLOTS_HINT = "the plot needs matplotlib: install i2i-pix2pix[plots]"


def as_rgb(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) from 1 (grey), 3 or 4 (alpha dropped) channels."""
    channels = images.shape[1]
    if channels == 1:
        return images.expand(-1, 3, -1, -1)
    if channels in (3, 4):
        return images[:, :3]
    raise DataError(f"colour metrics need grey or RGB images, got {channels} channels")


def srgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) grey, RGB or RGBA in [-1, 1] to CIE Lab (:func:`i2i.api.srgb_to_lab`)."""
    return api.srgb_to_lab(as_rgb(images))


def lab_counts(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pixel counts per bin of each Lab channel (see :data:`LAB_BINS`), int64."""
    lab = srgb_to_lab(images)
    counts = {}
    for channel, (name, (low, high, bins)) in enumerate(LAB_BINS.items()):
        index = ((lab[:, channel] - low) * (bins / (high - low))).floor().long().clamp(0, bins - 1)
        counts[name] = torch.bincount(index.flatten(), minlength=bins).cpu()
    return counts


def histogram_intersection(p: torch.Tensor, q: torch.Tensor) -> float:
    """Sum over bins of min(p, q) for the two count vectors normalised to probabilities: 1 equal, 0 disjoint."""
    return torch.minimum(p / p.sum(), q / q.sum()).sum().item()


def figure(**options):
    """A matplotlib Figure (no pyplot, no global backend), or :class:`MetricUnavailable` without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MetricUnavailable(PLOTS_HINT) from None
    return Figure(**options)


class LabHistogramMetric(Metric):
    """Histogram intersection of the outputs' Lab marginals with the ground truth's, per channel (L, a, b).

    Counts pool every pixel of the split (one-unit bins); ``compute`` is the mean of the three
    intersections, ``values`` reports each; ``draw`` plots the log-probability marginals.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts = {side: {name: torch.zeros(bins, dtype=torch.int64) for name, (_, _, bins) in LAB_BINS.items()}
                       for side in ("output", "target")}

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        for side, images in (("output", output), ("target", target)):
            for name, count in lab_counts(images).items():
                self.counts[side][name] += count

    def values(self) -> dict[str, float]:
        if not self.counts["target"]["L"].any():
            raise DataError("lab_hist has seen no images: call update() before compute()")
        return {name: histogram_intersection(self.counts["output"][name], self.counts["target"][name])
                for name in LAB_BINS}

    def compute(self) -> float:
        return sum(self.values().values()) / len(LAB_BINS)

    @classmethod
    def draw(cls, runs: dict[str, "LabHistogramMetric"], path: Path) -> Path:
        """Log-probability of L, a and b for each run's outputs and the ground truth (the first run's targets)."""
        fig = figure(figsize=(12, 3.6))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.16, wspace=0.3)
        first = next(iter(runs.values()))
        curves = {**{label: metric.counts["output"] for label, metric in runs.items()},
                  "ground truth": first.counts["target"]}
        for axis, (name, (low, high, bins)) in zip(fig.subplots(1, 3), LAB_BINS.items()):
            centres = low + (torch.arange(bins) + 0.5) * (high - low) / bins
            for label, counts in curves.items():
                probability = counts[name].double() / counts[name].sum()
                log_p = torch.where(probability > 0, probability.log10(), torch.nan)
                axis.plot(centres.numpy(), log_p.numpy(), label=label,
                          color="black" if label == "ground truth" else None)
            axis.set_xlabel(name)
            axis.set_ylabel(f"log P({name})")
        axis.legend(fontsize="small")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        return path


def colorfulness(images: torch.Tensor) -> torch.Tensor:
    """Hasler & Süsstrunk (2003) colourfulness per image on the 0–255 scale: σ_rgyb + 0.3 μ_rgyb."""
    r, g, b = ((as_rgb(images).float() + 1) * 127.5).unbind(1)
    rg, yb = (r - g).flatten(1), (0.5 * (r + g) - b).flatten(1)
    spread = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1).square() + yb.mean(1).square()).sqrt()
    return spread + 0.3 * mean


class ColorfulnessMetric(PerImageMetric):
    """Mean colourfulness of the outputs (Hasler & Süsstrunk 2003); ``reference`` gives the ground truth's.

    Not a distance: compare it with the ground-truth value (greyish, desaturated outputs score low).
    """

    def reset(self) -> None:
        super().reset()
        self._reference: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        super().update(output, target)
        self._reference.append(colorfulness(target.float()))

    def score(self, output, target):
        return colorfulness(output)

    def reference(self) -> float:
        if not self._reference:
            raise DataError("colorfulness has seen no images: call update() before compute()")
        return torch.cat(self._reference).mean().item()
