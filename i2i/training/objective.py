"""Compose registered loss terms into the training objective: ``l1+cgan`` (lambda_L1 = 100) or, with a weight
per term, ``l1:100+cgan:1``. A term without a weight gets 1, except ``l1``, which gets ``lambda_l1``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from i2i.core.components import LossTerm, StepTensors
from i2i.core.errors import ConfigError
from i2i.core.registry import Registry


def parse_loss_spec(spec: str) -> list[tuple[str, float | None]]:
    """``"l1:100+cgan"`` → ``[("l1", 100.0), ("cgan", None)]``; empty parts, repeats and bad weights are errors."""
    usage = "use names joined by '+', each with an optional weight, e.g. l1+cgan or l1:100+cgan:1"
    parts = [part.strip() for part in spec.split("+")]
    if not spec.strip() or any(not part for part in parts):
        raise ConfigError(f"bad --loss {spec!r}: {usage}")
    terms = []
    for part in parts:
        name, colon, weight = (text.strip() for text in part.partition(":"))
        if not name:
            raise ConfigError(f"bad --loss {spec!r}: {usage}")
        terms.append((name, _weight(spec, name, weight) if colon else None))
    names = [name for name, _ in terms]
    if len(set(names)) != len(names):
        raise ConfigError(f"bad --loss {spec!r}: a term appears twice")
    return terms


def _weight(spec: str, name: str, text: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight) or weight < 0:
        raise ConfigError(f"bad --loss {spec!r}: the weight of {name!r} must be a number >= 0, not {text!r}")
    return weight


def format_loss_spec(terms: list[tuple[str, float | None]]) -> str:
    """The inverse of :func:`parse_loss_spec`: ``[("l1", 100.0), ("cgan", None)]`` → ``"l1:100+cgan"``."""
    return "+".join(name if weight is None else f"{name}:{weight:.15g}" for name, weight in terms)


@dataclass
class Objective:
    """A weighted sum of terms; at most one adversarial term, which decides whether D is conditional."""

    terms: dict[str, LossTerm]

    @classmethod
    def build(cls, spec: str, registry: Registry, lambda_l1: float = 100.0) -> "Objective":
        """The terms of ``spec``, each built with its weight (see the module docstring)."""
        terms = {}
        for name, weight in parse_loss_spec(spec):
            entry = registry.get("losses", name)
            if weight is None:
                weight = lambda_l1 if entry.name == "l1" else 1.0
            terms[entry.name] = entry.resolve()(weight=weight)
        adversarial = [name for name, term in terms.items() if term.adversarial]
        if len(adversarial) > 1:
            raise ConfigError(f"--loss {spec!r} has more than one adversarial term ({', '.join(adversarial)})")
        return cls(terms)

    @property
    def adversarial(self) -> LossTerm | None:
        return next((term for term in self.terms.values() if term.adversarial), None)

    def generator_loss(self, step: StepTensors) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        parts = {f"g_{name}": term.generator_loss(step) for name, term in self.terms.items()}
        return sum(parts.values()), parts

    def discriminator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.adversarial.discriminator_loss(step)

    def discriminator_losses(self, step: StepTensors) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss and its parts named ``d_<part>`` (``d_real``, ``d_fake`` for the GAN terms)."""
        total, parts = self.adversarial.discriminator_losses(step)
        return total, {f"d_{name}": value for name, value in parts.items()}
