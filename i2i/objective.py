"""Compose registered loss terms into the training objective, e.g. ``l1+cgan`` with lambda_L1 = 100."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from i2i.components import LossTerm, StepTensors
from i2i.errors import ConfigError
from i2i.registry import Registry


def parse_loss_spec(spec: str) -> list[str]:
    """``"l1+cgan"`` → ``["l1", "cgan"]``; empty parts and repeats are errors."""
    names = [part.strip() for part in spec.split("+")]
    if not spec.strip() or any(not name for name in names):
        raise ConfigError(f"bad --loss {spec!r}: use names joined by '+', e.g. l1+cgan")
    if len(set(names)) != len(names):
        raise ConfigError(f"bad --loss {spec!r}: a term appears twice")
    return names


@dataclass
class Objective:
    """A weighted sum of terms; at most one adversarial term, which decides whether D is conditional."""

    terms: dict[str, LossTerm]

    @classmethod
    def build(cls, spec: str, registry: Registry, lambda_l1: float = 100.0) -> "Objective":
        terms = {}
        for name in parse_loss_spec(spec):
            entry = registry.get("losses", name)
            terms[entry.name] = entry.resolve()(weight=lambda_l1 if entry.name == "l1" else 1.0)
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
