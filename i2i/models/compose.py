"""A task's ``compose`` step: (generator input, generator output) → the image the task delivers.

Most tasks deliver the generator's output as it is. Some predict only part of the image and take the
rest from the input: Lab colorization predicts the a, b channels and keeps the input's lightness;
inpainting fills the hole and keeps the known pixels. Such a task names ``compose(source, output)``
(a lazy ``"module:attr"``; (N, C, H, W) float tensors in [-1, 1] → (N, C', H, W) in [-1, 1]).
Training samples, validation, ``i2i translate``/``test``/``eval`` and ``i2i ablate`` all deliver
``compose(input, output)`` and score it against ``compose(input, target)``, the same image made from
the ground truth. A model dir records ``"compose": true`` when its task composed its outputs in
training; older model dirs (no key) deliver raw outputs, as they were trained to.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from i2i.core.errors import ConfigError
from i2i.core.registry import import_target

Compose = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def task_compose(task) -> Compose | None:
    """``task``'s compose step, or None when it delivers outputs as they are."""
    if not getattr(task, "compose", None):
        return None
    return import_target(task.compose)


def model_compose(config: dict[str, Any]) -> Compose | None:
    """The compose step a model config asks for: its task's, when ``config["compose"]`` is true."""
    if not config.get("compose"):
        return None
    from i2i.core.plugin_manager import get_registry

    if config["task"] is None:
        raise ConfigError("the model config asks for its task's compose step but names no task")
    compose = task_compose(get_registry().resolve("tasks", config["task"]))
    if compose is None:
        raise ConfigError(f"the model composes its outputs with task {config['task']!r}'s compose step, "
                          f"which the installed task does not have; install the i2i version that trained it")
    return compose


def composed(compose: Compose | None, source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``compose(source, output)`` for one (C, H, W) image or a batch; ``output`` itself without a step."""
    if compose is None:
        return output
    if output.dim() == 3:
        return compose(source[None], output[None])[0].to(output.dtype)
    return compose(source, output).to(output.dtype)
