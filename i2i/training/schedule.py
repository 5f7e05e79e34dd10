"""Learning-rate policies of the paper's PyTorch port, as a multiplier of the base lr per 0-based epoch.

The lr of epoch ``e`` is the port's scheduler value after ``e`` steps (its ``last_epoch`` = e):

- ``linear`` (the default): constant for ``epochs``, then linearly towards 0 over ``epochs_decay``.
- ``step``: ``StepLR(step_size=decay_every, gamma=0.1)``: x0.1 every ``decay_every`` epochs.
- ``cosine``: ``CosineAnnealingLR(T_max=epochs, eta_min=0)``: from 1 to 0 over ``epochs`` (it rises again
  after, as torch's does, if ``epochs_decay`` adds more).
- ``plateau``: ``ReduceLROnPlateau(factor=0.2, threshold=0.01, patience=5)`` stepped with a validation
  score: x0.2 once the score has not improved by 1% (relative) for more than 5 validations. The port's
  mode is 'min' on a number pix2pix never sets; here the score's own direction decides (min for L1, max
  for PSNR). Its state is small JSON, kept in the checkpoint so resuming continues it exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from i2i.core.errors import ConfigError

POLICIES = ("linear", "step", "plateau", "cosine")
STEP_GAMMA = 0.1
PLATEAU_FACTOR, PLATEAU_THRESHOLD, PLATEAU_PATIENCE, PLATEAU_EPS = 0.2, 0.01, 5, 1e-8


def lr_factor(epoch: int, epochs: int, epochs_decay: int) -> float:
    """Multiplier of the base lr during 0-based ``epoch``: 1 for ``epochs`` epochs, then linearly towards 0.

    Matches the port: ``1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1)``.
    """
    return 1.0 - max(0, epoch + 1 - epochs) / float(epochs_decay + 1)


@dataclass
class PlateauState:
    """What ReduceLROnPlateau remembers: the current multiplier, the best score, validations without gain."""

    factor: float = 1.0
    best: float | None = None
    bad_epochs: int = 0


@dataclass
class LrSchedule:
    """One run's policy; ``factor(epoch)`` gives the multiplier, ``after_score`` feeds ``plateau``."""

    policy: str = "linear"
    epochs: int = 100
    epochs_decay: int = 100
    decay_every: int = 50
    higher_is_better: bool = False
    plateau: PlateauState = field(default_factory=PlateauState)

    def __post_init__(self) -> None:
        check_policy(self.policy, self.epochs, self.decay_every)

    def factor(self, epoch: int) -> float:
        if self.policy == "linear":
            return lr_factor(epoch, self.epochs, self.epochs_decay)
        if self.policy == "step":
            return STEP_GAMMA ** (epoch // self.decay_every)
        if self.policy == "cosine":
            return (1 + math.cos(math.pi * epoch / self.epochs)) / 2
        return self.plateau.factor

    def after_score(self, score: float, base_lr: float) -> dict:
        """The state (:meth:`state_dict`) after one validation's score, this one unchanged: ReduceLROnPlateau's
        step in relative-threshold mode for ``plateau``, nothing for the others."""
        state = PlateauState(**self.state_dict())
        if self.policy != "plateau":
            return asdict(state)
        if state.best is None or (score > state.best * (1 + PLATEAU_THRESHOLD) if self.higher_is_better
                                  else score < state.best * (1 - PLATEAU_THRESHOLD)):
            state.best, state.bad_epochs = score, 0
            return asdict(state)
        state.bad_epochs += 1
        if state.bad_epochs > PLATEAU_PATIENCE:
            if base_lr * state.factor * (1 - PLATEAU_FACTOR) > PLATEAU_EPS:  # torch skips changes below eps
                state.factor *= PLATEAU_FACTOR
            state.bad_epochs = 0
        return asdict(state)

    def state_dict(self) -> dict:
        return asdict(self.plateau)

    def load_state_dict(self, state: dict | None) -> None:
        """Restore :meth:`state_dict`; ``None`` (a checkpoint from before lr policies) is the initial state."""
        self.plateau = PlateauState(**(state or {}))


def check_policy(policy: str, epochs: int, decay_every: int) -> None:
    if policy not in POLICIES:
        raise ConfigError(f"unknown --lr-policy {policy!r}; use one of {', '.join(POLICIES)}")
    if decay_every < 1:
        raise ConfigError("--lr-decay-every must be >= 1")
    if policy == "cosine" and epochs < 1:
        raise ConfigError("--lr-policy cosine anneals over --epochs: give --epochs >= 1")
