"""The public API for plugin authors: everything a plugin imports from i2i comes from this module.

A plugin implements hooks (:mod:`i2i.core.hookspecs`, marked with :data:`hookimpl`) and registers components
with the core's ``register(name, target, *, aliases=(), description="", override=False)`` callback.
The contract each kind of component meets is declared here as a runtime-checkable Protocol: the members
the core uses, and, as separate ``Supports*`` protocols, the optional ones it looks for. Subclassing the
base classes (:class:`Generator`, :class:`Discriminator`, :class:`LossTerm`, :class:`Metric`,
:class:`Tracker`) is the easy way to meet a contract; it is not required.

Where the core calls something on what was registered (the *factory*, usually a class) rather than on the
object it builds, the protocol says so: e.g. ``default_args`` is a classmethod of a generator class.

Importing this module imports no torch (``i2i list`` must stay light): besides the hook, error and task
names, everything is imported on first use (the base classes, image and Lab helpers, the FID and FCN-score
metric bases, the tools of model sources: download, cache, weights reading, model dir writing, and what a
command plugin builds on: the use cases, the commands' shared click options and the report writers).

A command plugin (hook ``register_commands``) adds a click command that looks and behaves like a built-in one:
it takes the shared options (:func:`device_option`, :func:`hardware_options`, :func:`seed_option`,
:func:`quiet_option`, :func:`with_metric_options`, :class:`ComponentName` for registered names, ...), runs the
use cases (:func:`train`, :func:`resume`, :func:`evaluate`, :func:`translate`; :func:`new_config` builds a run's
:class:`TrainConfig`, :class:`Hardware` chooses the device once) and raises :class:`ConfigError` or
:class:`DataError` for the user's mistakes, which the CLI prints as one ``Error:`` line. The use cases import
torch: import them inside the command's function, so that ``i2i --help`` and ``i2i list`` stay light.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from i2i import load
from i2i.core.errors import ConfigError, DataError, I2IError
from i2i.core.hookspecs import hookimpl
from i2i.core.task import PREPROCESS_MODES, Checkpoint, DataSource, Direction, Layout, Recipe, Task
from i2i.eval.metric_set import MetricUnavailable
from i2i.models.resolver import ModelSource as ModelSourceProtocol
from i2i.training.trackers import Tracker, scalars

if TYPE_CHECKING:
    import torch

    from i2i.accel.device import resolve_device
    from i2i.core.components import Discriminator, Generator, LossTerm, Metric, StepTensors
    from i2i.core.plugin_manager import get_registry
    from i2i.data.cache import cache_lock, i2i_home, pinned_mismatch, trust, trusted_digest
    from i2i.data.download import ChecksumError, DownloadError, download
    from i2i.data.images import match_channels, to_signed_unit
    from i2i.data.lab import lab_to_srgb, srgb_to_lab
    from i2i.eval.fcn_score import IGNORE_LABEL, SegmentationScore, confusion_matrix, segmentation_scores
    from i2i.eval.fid import FeatureDistance, FIDMetric, KIDMetric
    from i2i.models.modelcard import write_model_card
    from i2i.models.modeldir import model_config, save_model_dir
    from i2i.models.pth import load_pth_state
    from i2i.models.weight_checks import check_finite
    # command plugins
    from i2i.usecases import (Evaluation, Hardware, evaluate, metric_names, new_config, resume, train, translate,
                              warn_if_slow, why_untrainable)
    from i2i.training.config import TrainConfig
    from i2i.cli.options import (ComponentName, checkpoint_option, device_option, hardware_options, mode_option,
                                 parse_key_values, parse_metric_args, quiet_option, seed_option, with_metric_options)
    from i2i.core.atomic import atomic_write_text
    from i2i.eval.metric_set import draw_runs
    from i2i.eval.report import format_value, markdown_table, skipped_lines

_LAZY = {
    "Generator": "i2i.core.components", "Discriminator": "i2i.core.components", "LossTerm": "i2i.core.components",
    "Metric": "i2i.core.components", "StepTensors": "i2i.core.components",
    "resolve_device": "i2i.accel.device",
    "IGNORE_LABEL": "i2i.eval.fcn_score", "SegmentationScore": "i2i.eval.fcn_score", "confusion_matrix": "i2i.eval.fcn_score",
    "segmentation_scores": "i2i.eval.fcn_score",
    "FeatureDistance": "i2i.eval.fid", "FIDMetric": "i2i.eval.fid", "KIDMetric": "i2i.eval.fid",
    "match_channels": "i2i.data.images", "to_signed_unit": "i2i.data.images",
    "lab_to_srgb": "i2i.data.lab", "srgb_to_lab": "i2i.data.lab",
    "cache_lock": "i2i.data.cache", "i2i_home": "i2i.data.cache", "pinned_mismatch": "i2i.data.cache", "trust": "i2i.data.cache",
    "trusted_digest": "i2i.data.cache",
    "ChecksumError": "i2i.data.download", "DownloadError": "i2i.data.download", "download": "i2i.data.download",
    "write_model_card": "i2i.models.modelcard", "model_config": "i2i.models.modeldir", "save_model_dir": "i2i.models.modeldir",
    "get_registry": "i2i.core.plugin_manager", "load_pth_state": "i2i.models.pth", "check_finite": "i2i.models.weight_checks",
    # command plugins
    **dict.fromkeys(("Evaluation", "Hardware", "evaluate", "metric_names", "new_config", "resume", "train", "translate",
                     "warn_if_slow", "why_untrainable"), "i2i.usecases"),
    "TrainConfig": "i2i.training.config",
    **dict.fromkeys(("ComponentName", "checkpoint_option", "device_option", "hardware_options", "mode_option",
                     "parse_key_values", "parse_metric_args", "quiet_option", "seed_option", "with_metric_options"),
                    "i2i.cli.options"),
    "atomic_write_text": "i2i.core.atomic", "format_value": "i2i.eval.report", "markdown_table": "i2i.eval.report",
    "skipped_lines": "i2i.eval.report", "draw_runs": "i2i.eval.metric_set",
}


def __getattr__(name: str) -> Any:
    """Import the torch-based names on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


# --- generators and discriminators -----------------------------------------------------------------

@runtime_checkable
class GeneratorProtocol(Protocol):
    """A generator: an ``nn.Module`` built as ``factory(in_channels=..., out_channels=..., **args)`` that maps
    (N, in_channels, H, W) to (N, out_channels, H, W) in [-1, 1]. Arguments are plain JSON types (a model's
    config.json stores them). Optional: ``size_multiple`` (H and W must be multiples; default 1, the
    translator pads), and on the factory :class:`SupportsArgRanges`, :class:`SupportsDefaultArgs`,
    :class:`SupportsInfo`, :class:`SupportsPortStateDict` and a ``description`` string."""

    in_channels: int
    out_channels: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def state_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class DiscriminatorProtocol(Protocol):
    """A discriminator: an ``nn.Module`` built as ``factory(in_channels=..., out_channels=..., conditional=...,
    **args)`` that maps images (input and output concatenated on channels when ``conditional``, else the output
    alone) to a map of logits, one per ``receptive_field``-pixel patch. Optional on the factory:
    :class:`SupportsArgRanges`, :class:`SupportsInfo`, :class:`SupportsPortStateDict`."""

    conditional: bool
    receptive_field: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class SupportsArgRanges(Protocol):
    """On a factory: inclusive ``(low, high)`` bounds of numeric constructor arguments, checked before building
    (int bounds ask for a whole number). Keep ``Generator.arg_ranges`` (the channel counts) in yours."""

    arg_ranges: Mapping[str, tuple[float, float]]


@runtime_checkable
class SupportsDefaultArgs(Protocol):
    """On a generator factory: ``default_args(crop_size) -> dict``, arguments the trainer fills in from the crop
    size (the user's ``--gen-arg`` wins); raising :class:`ConfigError` refuses the crop size."""

    def default_args(self, crop_size: int) -> dict[str, Any]: ...


@runtime_checkable
class SupportsInfo(Protocol):
    """On a factory (a class): ``info() -> dict``, facts that ``i2i info NAME`` prints (parameters, receptive
    field, ...)."""

    def info(self) -> dict[str, Any]: ...


@runtime_checkable
class SupportsPortStateDict(Protocol):
    """On a network factory: ``from_port_state_dict(state_dict, **overrides)``, the network that a state dict of
    the pix2pix PyTorch port's matching class describes, loaded exactly (released checkpoints, ``i2i convert``)."""

    def from_port_state_dict(self, state_dict: Mapping[str, torch.Tensor], **overrides: Any) -> Any: ...


# --- objective terms --------------------------------------------------------------------------------

@runtime_checkable
class LossTermProtocol(Protocol):
    """One term of the objective (``--loss l1+cgan``), built as ``factory(weight=...)``; its weighted loss is
    what ``generator_loss`` returns. ``adversarial`` terms need a discriminator (at most one per objective) and
    give D's loss; ``conditional`` says whether D sees the input too. ``discriminator_losses`` returns D's loss
    and named parts to log (``{"real": ..., "fake": ...}``; :class:`LossTerm` derives it from
    ``discriminator_loss``). ``step`` is a :class:`StepTensors`."""

    adversarial: bool
    conditional: bool

    def generator_loss(self, step: Any) -> torch.Tensor: ...

    def discriminator_loss(self, step: Any) -> torch.Tensor: ...

    def discriminator_losses(self, step: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


# --- metrics ----------------------------------------------------------------------------------------

@runtime_checkable
class MetricProtocol(Protocol):
    """A metric, built as ``factory(**args)`` (``--metric-arg NAME.KEY=VALUE``): accumulates batches of
    (N, C, H, W) outputs and targets in [-1, 1], then ``compute()`` gives the headline number (validation and
    ``--best-metric`` use it). ``higher_is_better`` is read from the factory. A constructor that cannot run here
    (weights missing) raises :class:`MetricUnavailable`: the evaluation reports it as skipped. Optional:
    :class:`SeesInput`, :class:`SupportsValues`, :class:`SupportsReference`, :class:`SupportsDraw`."""

    higher_is_better: bool

    def reset(self) -> None: ...

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None: ...

    def compute(self) -> float: ...


@runtime_checkable
class SeesInput(Protocol):
    """A metric with ``sees_input = True`` gets ``update(output, target, source)``: the generator's input too
    (e.g. the label map that an FCN-score compares a segmentation with)."""

    sees_input: bool

    def update(self, output: torch.Tensor, target: torch.Tensor, source: torch.Tensor) -> None: ...


@runtime_checkable
class SupportsValues(Protocol):
    """``values() -> dict[str, float]``: named numbers reported as ``<metric>.<key>`` instead of ``compute()``."""

    def values(self) -> dict[str, float]: ...


@runtime_checkable
class SupportsReference(Protocol):
    """``reference() -> float | dict[str, float]``: the same numbers measured on the ground truth (the
    paper's "ground truth" row), keyed as the metric's scores."""

    def reference(self) -> float | dict[str, float]: ...


@runtime_checkable
class SupportsDraw(Protocol):
    """On the metric class: ``draw(runs, path)`` (a classmethod) writes a PNG comparing evaluated runs
    (``{label: metric}``); raise :class:`MetricUnavailable` when plotting cannot run here."""

    def draw(self, runs: dict[str, Any], path: Path) -> Path: ...


@runtime_checkable
class Segmenter(Protocol):
    """For :class:`SegmentationScore` (the FCN-score): (N, 3, H, W) images in [-1, 1] → (N, H, W) int64 class
    ids."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class FeatureExtractor(Protocol):
    """For :class:`FIDMetric` / :class:`KIDMetric`: (N, C, H, W) images in [-1, 1] → (N, D) features."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


# --- tasks ------------------------------------------------------------------------------------------

@runtime_checkable
class PairMaker(Protocol):
    """A ``photos`` task's ``pair_maker`` (a lazy ``"module:attr"`` in :class:`Task`): a jittered uint8
    (C, H, W) photo and a seeded ``torch.Generator`` (draw all randomness from it) → (A, B) float tensors
    in [-1, 1] with the task's channels."""

    def __call__(self, photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class ComposeStep(Protocol):
    """A task's ``compose(source, output)``: (N, C, H, W) generator input and output in [-1, 1] → the image the
    task delivers (e.g. the input's lightness with the predicted colour)."""

    def __call__(self, source: torch.Tensor, output: torch.Tensor) -> torch.Tensor: ...


# --- trackers ---------------------------------------------------------------------------------------

@runtime_checkable
class TrackerProtocol(Protocol):
    """An experiment tracker (``i2i train --tracker NAME``), built as ``factory(run_dir, config)``: gets each
    metrics.jsonl record (:func:`scalars` flattens one), each epoch's sample grid, and one ``close()``."""

    def log(self, record: dict[str, Any]) -> None: ...

    def log_image(self, tag: str, path: Path, step: int) -> None: ...

    def close(self) -> None: ...


__all__ = [
    # hooks and loading
    "hookimpl", "load",
    # errors
    "I2IError", "ConfigError", "DataError", "MetricUnavailable",
    # tasks
    "Task", "Recipe", "DataSource", "Checkpoint", "Layout", "Direction", "PREPROCESS_MODES", "PairMaker",
    "ComposeStep",
    # networks
    "GeneratorProtocol", "DiscriminatorProtocol", "SupportsArgRanges", "SupportsDefaultArgs", "SupportsInfo",
    "SupportsPortStateDict", "Generator", "Discriminator",
    # objective
    "LossTermProtocol", "LossTerm", "StepTensors",
    # metrics
    "MetricProtocol", "SeesInput", "SupportsValues", "SupportsReference", "SupportsDraw", "Metric",
    "Segmenter", "SegmentationScore", "IGNORE_LABEL", "confusion_matrix", "segmentation_scores",
    "FeatureExtractor", "FeatureDistance", "FIDMetric", "KIDMetric",
    # trackers
    "TrackerProtocol", "Tracker", "scalars",
    # model sources: fetch into the cache, read the port's weights, write model dirs
    "ModelSourceProtocol", "download", "DownloadError", "ChecksumError", "i2i_home", "cache_lock", "trust",
    "trusted_digest", "pinned_mismatch", "load_pth_state", "check_finite", "model_config", "save_model_dir",
    "write_model_card", "get_registry",
    # helpers
    "to_signed_unit", "match_channels", "srgb_to_lab", "lab_to_srgb", "resolve_device",
    # command plugins (hook register_commands): the use cases the built-in commands run, their shared options,
    # and the tools of their reports
    "train", "resume", "evaluate", "translate", "new_config", "TrainConfig", "Hardware", "warn_if_slow",
    "metric_names", "Evaluation", "why_untrainable",
    "ComponentName", "device_option", "hardware_options", "mode_option", "seed_option", "quiet_option",
    "checkpoint_option", "with_metric_options", "parse_key_values", "parse_metric_args",
    "atomic_write_text", "markdown_table", "format_value", "skipped_lines", "draw_runs",
]
