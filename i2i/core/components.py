"""Interfaces for the torch components: generators, discriminators, objective terms, metrics.

Constructor arguments of every component are plain JSON types, so ``(name, kwargs)`` is its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from i2i.core.errors import ConfigError

InferenceMode = Literal["paper", "eval"]
ArgRanges = dict[str, tuple[float, float]]
CHANNEL_RANGES: ArgRanges = {"in_channels": (1, 1024), "out_channels": (1, 1024)}


def check_arguments(factory: Any, kind: str, name: str, args: Mapping[str, Any]) -> None:
    """Refuse constructor arguments outside the ranges ``factory`` declares in ``arg_ranges``, before building.

    ``arg_ranges`` maps an argument to inclusive ``(low, high)`` bounds: int bounds ask for a whole number,
    float bounds for any number. Arguments it does not name are left to the constructor.
    """
    for key, (low, high) in getattr(factory, "arg_ranges", {}).items():
        if key not in args:
            continue
        value, whole = args[key], isinstance(low, int) and isinstance(high, int)
        number = isinstance(value, int) if whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not number or not low <= value <= high:
            what = "a whole number" if whole else "a number"
            problem = "is out of range" if number and not isinstance(value, bool) else f"is not {what}"
            raise ConfigError(f"{kind} {name!r}: {key}={value!r} {problem}; expected {what} from {low} to {high}")


class Generator(nn.Module):
    """Maps (N, in_channels, H, W) to (N, out_channels, H, W) in [-1, 1].

    Subclasses set ``in_channels``, ``out_channels`` and ``size_multiple`` (H and W must be multiples), and
    declare the ranges of their constructor arguments in ``arg_ranges`` (checked before building; see
    :func:`check_arguments`), e.g. ``arg_ranges = {**Generator.arg_ranges, "ngf": (1, 256)}``.
    """

    arg_ranges: ClassVar[ArgRanges] = CHANNEL_RANGES
    in_channels: int
    out_channels: int
    size_multiple: int = 1

    def check_size(self, x: torch.Tensor) -> None:
        """Raise a clear error when the spatial size is not a multiple of ``size_multiple``."""
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ConfigError(
                f"{type(self).__name__} needs height and width that are multiples of {m}, got {h}x{w} "
                f"(the translator pads automatically)"
            )


class Discriminator(nn.Module):
    """Returns a map of logits, one per patch of size ``receptive_field`` (pixels of the input).

    ``arg_ranges`` declares the constructor arguments' ranges, as for :class:`Generator`.
    """

    arg_ranges: ClassVar[ArgRanges] = CHANNEL_RANGES
    conditional: bool
    receptive_field: int


def set_inference_mode(model: nn.Module, mode: InferenceMode) -> nn.Module:
    """Switch a trained network between the paper's test-time behaviour and plain eval, in place.

    ``paper``: dropout on and batch norm over the test batch's statistics, as in training but without
    touching the running statistics. ``eval``: no dropout, running statistics.
    """
    if mode not in ("paper", "eval"):
        raise ConfigError(f"unknown inference mode {mode!r}; use 'paper' or 'eval'")
    model.eval()
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.train(mode == "paper")
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train(mode == "paper")
            module.track_running_stats = mode == "eval"
    return model


def restore_training_mode(model: nn.Module) -> nn.Module:
    """Undo :func:`set_inference_mode`: training behaviour, running statistics tracked again."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.track_running_stats = module.running_mean is not None
    return model


@dataclass
class StepTensors:
    """What an objective term sees in one training step. Images are in [-1, 1]."""

    real_a: torch.Tensor
    real_b: torch.Tensor
    fake_b: torch.Tensor
    discriminator: Discriminator | None = None


class LossTerm:
    """One term of the objective, e.g. L1 or the (c)GAN loss.

    ``adversarial`` terms need a discriminator; ``conditional`` says whether it sees the input too.
    ``generator_loss`` is minimised by G; ``discriminator_loss`` (adversarial terms) by D.
    ``discriminator_losses`` adds named parts of D's loss to log (e.g. ``real`` and ``fake``).
    """

    adversarial: bool = False
    conditional: bool = False

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = float(weight)

    def generator_loss(self, step: StepTensors) -> torch.Tensor:
        raise NotImplementedError

    def discriminator_loss(self, step: StepTensors) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not adversarial")

    def discriminator_losses(self, step: StepTensors) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss and its named parts for the log (none unless a term says)."""
        return self.discriminator_loss(step), {}


class Metric:
    """Accumulates over batches of (output, target) in [-1, 1]; ``compute`` gives one number.

    ``needs`` names what the metric requires beyond images ("none", "segmenter", "features").
    """

    higher_is_better: bool = True
    needs: str = "none"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError
