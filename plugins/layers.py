"""Pieces shared by the paper's networks: the norm-layer factory, the bias rule and the paper's init."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from i2i.api import ConfigError

NORMS = ("batch", "instance", "none")
NORM_INFO = ("norm=batch (default: affine, running statistics) | instance (the port's: affine=False, no running "
             "statistics; convs get biases; its FAQ's choice for multi-GPU) | none")


def check_norm(norm: str) -> str:
    """Return ``norm`` if it is one of :data:`NORMS`, else raise a ConfigError."""
    if norm not in NORMS:
        raise ConfigError(f"unknown norm {norm!r}; use one of {', '.join(NORMS)}")
    return norm


def norm_layer(norm: str, channels: int) -> nn.Module:
    """The port's norms: BatchNorm2d (affine), InstanceNorm2d (no affine, no running stats), or none."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def conv_bias(norm: str) -> bool:
    """The port's rule: a conv followed by batch norm needs no bias (the norm's shift replaces it)."""
    return norm != "batch"


def init_paper_weights(net: nn.Module) -> nn.Module:
    """The paper's init, in place: conv weights N(0, 0.02), biases 0; norm scale N(1, 0.02), shift 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return net


def meta_build(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` on the meta device: shapes and parameter counts without memory or init cost."""
    with torch.device("meta"):
        return build()


def parameter_count(net: nn.Module) -> int:
    """Number of learnable parameters."""
    return sum(p.numel() for p in net.parameters())
