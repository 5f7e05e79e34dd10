"""The port's lr policies against torch's own schedulers, and their state across a resume."""

from __future__ import annotations

import pytest
import torch

from i2i.core.errors import ConfigError
from i2i.training.schedule import LrSchedule


def torch_factors(make, epochs: int, scores=None) -> list[float]:
    """The lr (base 1) that torch's scheduler gives each 0-based epoch, stepped once per epoch after it."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(optimizer)
    factors = []
    for epoch in range(epochs):
        factors.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(*([scores[epoch]] if scores is not None else []))
    return factors


@pytest.mark.parametrize("policy, make", [
    ("linear", lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 - max(0, e + 1 - 4) / (3 + 1))),
    ("step", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.1)),
    ("cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0)),
])
def test_closed_form_policies_match_torch(policy, make):
    schedule = LrSchedule(policy, epochs=4, epochs_decay=3, decay_every=2)
    assert [schedule.factor(e) for e in range(7)] == pytest.approx(torch_factors(make, 7), abs=1e-12)


@pytest.mark.parametrize("higher", [False, True])
def test_plateau_matches_reduce_lr_on_plateau_and_survives_a_resume(higher):
    psnr_like = [30, 31, 31.1, 31.2, 31.0, 31.25, 31.3, 31.1, 31.2, 40] + [40] * 13  # stalls twice
    scores = psnr_like if higher else [100 - s for s in psnr_like]  # lower is better: improves as it shrinks
    expected = torch_factors(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
        o, mode="max" if higher else "min", factor=0.2, threshold=0.01, patience=5), len(scores), scores)
    assert min(expected) < 0.2 * 0.2 + 1e-9  # the sequence does reduce, twice
    schedule = LrSchedule("plateau", higher_is_better=higher)
    factors = []
    for epoch, score in enumerate(scores):
        factors.append(schedule.factor(epoch))
        schedule.load_state_dict(schedule.after_score(score, base_lr=1.0))
        if epoch == 8:  # a resume: the state goes through the checkpoint's JSON and back
            state = schedule.state_dict()
            schedule = LrSchedule("plateau", higher_is_better=higher)
            schedule.load_state_dict(state)
    assert factors == pytest.approx(expected)
    old = LrSchedule("plateau")
    old.load_state_dict(None)  # a checkpoint from before lr policies
    assert old.factor(7) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(policy="exp"), "unknown --lr-policy"),
    (dict(policy="step", decay_every=0), "--lr-decay-every"),
    (dict(policy="cosine", epochs=0), "--epochs >= 1"),
])
def test_bad_policies_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LrSchedule(**kwargs)
