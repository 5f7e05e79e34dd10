"""The port's WGAN-GP objective: its losses, its gradient penalty, and training steps on the CPU GEMM path."""

from __future__ import annotations

import math

import torch
from torch import nn

from i2i.accel.cpu_conv import GEMM_MAX_POSITIONS_TRAIN, GEMM_MIN_WEIGHT
from i2i.core.components import StepTensors
from i2i.core.plugin_manager import get_registry
from i2i.training.config import TrainConfig
from i2i.training.objective import Objective
from i2i.training.run import build_networks
from i2i.training.step import PairTrainer
from i2i_plugins.losses import WGANGPLoss


class LinearCritic(nn.Module):
    """D(z) = conv1x1(z): the gradient of sum(D) w.r.t. z is the weight at every pixel, of norm |w| * sqrt(HW)."""

    conditional = True

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1, bias=False)

    def forward(self, z):
        return self.conv(z)


def test_losses_and_penalty_are_the_ports():
    torch.manual_seed(0)
    a, b, fake = (torch.randn(2, 3, 4, 6) for _ in range(3))
    critic = LinearCritic(6)
    step = StepTensors(a, b, fake, critic)
    term = WGANGPLoss()
    real_score = critic(torch.cat([a, b], 1)).mean()
    fake_score = critic(torch.cat([a, fake], 1)).mean()
    expected_penalty = 10.0 * (critic.conv.weight.norm() * math.sqrt(4 * 6) - 1) ** 2
    assert torch.allclose(term.gradient_penalty(step), expected_penalty)
    assert torch.allclose(term.discriminator_loss(step), 0.5 * (fake_score - real_score) + expected_penalty)
    assert torch.allclose(term.generator_loss(step), -fake_score)
    term.discriminator_loss(step).backward()  # the penalty's double backward reaches D's weight
    assert critic.conv.weight.grad is not None and critic.conv.weight.grad.abs().sum() > 0


def test_l1_plus_wgangp_trains_on_the_cpu_gemm_path():
    """ndf 64 at 32 px: D's 256->512 conv (2 M weights, 3x3 outputs) is one the CPU GEMM path takes, so the
    penalty's double backward runs where SmallConvGemm is active (it must fall through there)."""
    config = TrainConfig(task="demo", loss="l1+wgangp", crop_size=32, load_size=32,
                         generator_args={"ngf": 8}, discriminator="patch70")
    registry = get_registry()
    objective = Objective.build(config.loss, registry, 100.0)
    torch.manual_seed(0)
    generator, discriminator = build_networks(config, objective, registry)
    big = discriminator.model[8]
    assert big.weight.numel() >= GEMM_MIN_WEIGHT and 3 * 3 <= GEMM_MAX_POSITIONS_TRAIN[0]
    trainer = PairTrainer(generator, discriminator, objective, lr=2e-4, betas=(0.5, 0.999),
                          device=torch.device("cpu"), small_conv_gemm=True)
    before = big.weight.detach().clone()
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    for _ in range(2):
        losses = trainer.step(x, y).as_floats()
    assert {"loss_g", "loss_g_l1", "loss_g_wgangp", "loss_d"} <= set(losses)
    assert all(math.isfinite(v) for v in losses.values())
    assert not torch.equal(before, big.weight)
