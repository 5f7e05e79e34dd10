"""The paper's optimisation loop: per batch one D step, then one G step (with D frozen)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from i2i.accel.cpu_conv import SmallConvGemm, choose_cpu_gemm
from i2i.accel.device import autocast
from i2i.core.components import StepTensors
from i2i.training.objective import Objective


def make_adam(module: nn.Module, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam as in the paper, with the fused kernel where this torch offers it for ``device``."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))


@dataclass
class StepResult:
    """Losses of one step as tensors; read them (a host sync) only at logging intervals."""

    g_total: torch.Tensor
    g_parts: dict[str, torch.Tensor]
    d_loss: torch.Tensor | None
    fake_b: torch.Tensor = field(repr=False)
    d_parts: dict[str, torch.Tensor] = field(default_factory=dict)

    def as_floats(self) -> dict[str, float]:
        values = {"loss_g": self.g_total, **{f"loss_{k}": v for k, v in self.g_parts.items()}}
        if self.d_loss is not None:
            values["loss_d"] = self.d_loss
            values.update({f"loss_{k}": v for k, v in self.d_parts.items()})
        return {k: float(v.detach()) for k, v in values.items()}


class PairTrainer:
    """Holds G, D, their optimisers and the objective; ``step`` runs one training iteration."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module | None,
        objective: Objective,
        *,
        lr: float,
        betas: tuple[float, float],
        device: torch.device,
        precision: str = "fp32",
        channels_last: bool | None = None,
        small_conv_gemm: bool | None = None,
        data_parallel: Callable[[nn.Module], nn.Module] | None = None,
    ) -> None:
        """``channels_last``: images (and so activations) in NHWC, where cuDNN has its fastest convolutions;
        default: on CUDA only (on the CPU it measured no faster, and takes more memory: bench/RESULTS.md).
        On the CPU the parameters stay contiguous either way: the fused CPU Adam kernel copies non-contiguous
        parameters to contiguous ones and back on every step.
        ``small_conv_gemm``: run small convolutions as one GEMM (:class:`SmallConvGemm`); default:
        ``$I2I_CPU_GEMM``, else on the CPU (:func:`i2i.accel.cpu_conv.choose_cpu_gemm`).
        ``data_parallel``: wraps G and D for the training step (DDP: :func:`i2i.training.distributed.data_parallel`);
        ``generator``/``discriminator`` stay the plain modules (checkpoints, validation, export).
        """
        self.device = device
        self.precision = precision
        if channels_last is None:
            channels_last = device.type == "cuda"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        param_format = self.memory_format if device.type != "cpu" else torch.contiguous_format
        self.generator = generator.to(device, memory_format=param_format)
        self.discriminator = None if discriminator is None else discriminator.to(device, memory_format=param_format)
        self.small_conv_gemm, _ = choose_cpu_gemm(small_conv_gemm, device)
        self.objective = objective
        self.base_lr = lr
        self.opt_g = make_adam(self.generator, lr, betas, device)
        self.opt_d = None if self.discriminator is None else make_adam(self.discriminator, lr, betas, device)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        wrap = data_parallel or (lambda module: module)
        self.parallel_generator = wrap(self.generator)
        self.parallel_discriminator = None if self.discriminator is None else wrap(self.discriminator)

    @property
    def modules(self) -> dict[str, nn.Module]:
        found = {"generator": self.generator}
        if self.discriminator is not None:
            found["discriminator"] = self.discriminator
        return found

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        found = {"opt_g": self.opt_g}
        if self.opt_d is not None:
            found["opt_d"] = self.opt_d
        return found

    def set_lr_factor(self, factor: float) -> float:
        """Set both optimisers' lr to ``factor`` times the base lr (see :mod:`i2i.training.schedule`); return it."""
        lr = self.base_lr * factor
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(self.device, non_blocking=True, memory_format=self.memory_format)

    def _forward(self) -> contextlib.AbstractContextManager:
        """The context of every forward pass: autocast, and the small-convolution GEMMs on the CPU."""
        stack = contextlib.ExitStack()
        if self.small_conv_gemm:
            stack.enter_context(SmallConvGemm())
        stack.enter_context(autocast(self.device, self.precision))
        return stack

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)

    def step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> StepResult:
        """One iteration: G forward, D update on (real, G(x) detached), then G update through the updated D."""
        real_a, real_b = self._to_device(real_a), self._to_device(real_b)
        with self._forward():
            fake_b = self.parallel_generator(real_a)
        step = StepTensors(real_a, real_b, fake_b, self.parallel_discriminator)
        d_loss, d_parts = None, {}
        if self.discriminator is not None:
            self.discriminator.requires_grad_(True)
            with self._forward():
                d_loss, d_parts = self.objective.discriminator_losses(step)
            self._backward_step(d_loss, self.opt_d)
            self.discriminator.requires_grad_(False)  # G's step must not accumulate D gradients
            step.discriminator = self.discriminator  # nor wait in DDP for D gradients that never come
        with self._forward():
            g_total, g_parts = self.objective.generator_loss(step)
        self._backward_step(g_total, self.opt_g)
        if self.scaler is not None:
            self.scaler.update()
        return StepResult(g_total, g_parts, d_loss, fake_b, d_parts)


class Throughput:
    """Images per second over a logging interval."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.images = 0

    def add(self, count: int) -> None:
        self.images += count

    def take(self) -> float:
        now = time.perf_counter()
        rate = self.images / max(now - self.start, 1e-9)
        self.start, self.images = now, 0
        return rate
