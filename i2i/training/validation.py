"""Validation during training: registered metrics on the val split, and per-epoch sample grids."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid

from i2i.accel.device import autocast
from i2i.core.components import restore_training_mode, set_inference_mode
from i2i.core.errors import ConfigError
from i2i.core.faults import fault_point
from i2i.data.images import displayable, write_image
from i2i.eval.metric_set import MetricSet
from i2i.models.compose import composed, task_compose
from i2i.models.inference_mode import has_batch_norm, recommended_mode
from i2i.models.tiling import pad_to_multiple
from i2i.training import distributed
from i2i.training.config import TrainConfig

_VAL_SEED = 1234


class Validator:
    """Runs G in the configured inference mode without disturbing the training RNG stream; outputs and
    targets go through the task's compose step (:mod:`i2i.models.compose`) before they are scored or shown."""

    def __init__(self, config: TrainConfig, registry, device: torch.device, precision: str) -> None:
        self.config, self.device, self.precision, self.registry = config, device, precision, registry
        self.metrics = {name: registry.get("metrics", name) for name in config.val_metrics}
        self.compose = task_compose(registry.resolve("tasks", config.task))
        skipped = MetricSet.build(registry, config.val_metrics).skipped
        if config.best_metric in skipped:
            raise ConfigError(f"--best-metric {config.best_metric!r} cannot run: {skipped[config.best_metric]}")
        for name, reason in skipped.items():
            print(f"i2i: warning: validation skips metric {name!r}: {reason}", file=sys.stderr, flush=True)

    def _mode(self, generator: torch.nn.Module) -> str:
        """The configured inference mode; one that fits the training when none is chosen yet."""
        return self.config.inference_mode or recommended_mode(self.config.batch_size, has_batch_norm(generator))[0]

    def _translate(self, generator: torch.nn.Module, a: torch.Tensor) -> torch.Tensor:
        """The delivered image for a batch of inputs ``a``: ``compose(a, G(a))``, on the CPU; G's input is padded
        to its size multiple and its output cropped back (uncropped --preprocess modes)."""
        (h, w), multiple = a.shape[-2:], getattr(generator, "size_multiple", 1)
        padded, (top, left) = pad_to_multiple(a.to(self.device), multiple)
        with autocast(self.device, self.precision):
            output = generator(padded).float()[..., top:top + h, left:left + w].cpu()
        return composed(self.compose, a, output)

    @torch.no_grad()
    def evaluate(self, generator: torch.nn.Module, dataset) -> dict[str, float]:
        metrics = MetricSet.build(self.registry, self.config.val_metrics)
        set_inference_mode(generator, self._mode(generator))
        try:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                torch.manual_seed(_VAL_SEED)
                for index in range(len(dataset)):
                    fault_point("validating")
                    item = dataset[index]
                    a = item["a"][None]
                    metrics.update(a, self._translate(generator, a), composed(self.compose, a, item["b"][None]))
        finally:
            restore_training_mode(generator)
        return {name: float(metric.compute()) for name, metric in metrics.active.items()}

    def improved(self, scores: dict[str, float], best: float | None) -> bool:
        """Whether ``scores`` beat ``best`` on ``--best-metric``; always False when no best metric was asked for."""
        if self.config.best_metric is None:
            return False
        score = scores.get(self.config.best_metric)
        if score is None:
            return False
        if best is None:
            return True
        higher = self.metrics[self.config.best_metric].resolve().higher_is_better
        return score > best if higher else score < best

    @distributed.main_process_only
    @torch.no_grad()
    def write_samples(self, generator: torch.nn.Module, dataset, path: Path) -> Path:
        """A grid with one row per sample: input | output | target (first 3 channels, grey as RGB)."""
        set_inference_mode(generator, self._mode(generator))
        tiles = []
        try:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                torch.manual_seed(_VAL_SEED)
                for index in range(min(self.config.samples, len(dataset))):
                    item = dataset[index]
                    output = self._translate(generator, item["a"][None])[0]
                    target = composed(self.compose, item["a"], item["b"])
                    tiles += [displayable(item["a"]), displayable(output), displayable(target)]
        finally:
            restore_training_mode(generator)
        height, width = max(t.shape[-2] for t in tiles), max(t.shape[-1] for t in tiles)
        tiles = [F.pad(t, (0, width - t.shape[-1], 0, height - t.shape[-2]), value=1.0) for t in tiles]
        grid = make_grid(torch.stack(tiles), nrow=3, padding=2, pad_value=1.0)
        return write_image(grid, path)
