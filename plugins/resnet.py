"""The authors' PyTorch port's ResNet generators (Johnson et al. 2016's architecture), in the port's layout.

ReflectionPad(3) -> Conv7x7(ngf) -> Norm -> ReLU; two Conv3x3 stride-2 downsamplings (ngf*2, ngf*4), each
-> Norm -> ReLU; ``n_blocks`` residual blocks at ngf*4 (pad, Conv3x3, Norm, ReLU, [Dropout(0.5)], pad,
Conv3x3, Norm; ``x + block(x)``); two ConvTranspose3x3 stride-2 (output_padding 1) upsamplings -> Norm ->
ReLU; ReflectionPad(3) -> Conv7x7(out, with bias) -> Tanh. As in the port, convs have a bias only with
instance norm. The layers sit in one ``model`` Sequential indexed as in the port (residual blocks hold a
``conv_block`` Sequential), so the port's state dicts load unchanged (:meth:`ResnetGenerator.from_port_state_dict`).
"""

from __future__ import annotations

from functools import partialmethod
from typing import Mapping

import torch
from torch import nn

from i2i.api import ConfigError, Generator
from i2i_plugins import port_layout
from i2i_plugins.layers import NORM_INFO, check_norm, init_paper_weights, meta_build, norm_layer, parameter_count

PADDINGS = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zero": None}
DOWNSAMPLINGS = 2


def _padded_conv(padding: str, channels: int, bias: bool) -> list[nn.Module]:
    """A 3x3 conv keeping the size: explicit reflect/replicate padding, or the conv's own zero padding."""
    pad = PADDINGS[padding]
    if pad is None:
        return [nn.Conv2d(channels, channels, 3, padding=1, bias=bias)]
    return [pad(1), nn.Conv2d(channels, channels, 3, bias=bias)]


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``; conv_block: pad, Conv3x3, Norm, ReLU, [Dropout], pad, Conv3x3, Norm."""

    def __init__(self, channels: int, norm: str, dropout: float, padding: str, bias: bool) -> None:
        super().__init__()
        layers = [*_padded_conv(padding, channels, bias), norm_layer(norm, channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [*_padded_conv(padding, channels, bias), norm_layer(norm, channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(Generator):
    """The port's ResNet generator: two downsamplings, ``n_blocks`` residual blocks, two upsamplings.

    ``norm`` is batch, instance or none; ``dropout`` (0.5, the port's default; 0 for none) sits inside
    every residual block; ``padding`` is reflect (the port's), replicate or zero. Inputs must be multiples of 4.
    """

    size_multiple = 2 ** DOWNSAMPLINGS
    fixed_blocks: int | None = None
    arg_ranges = {**Generator.arg_ranges, "ngf": (1, 256), "n_blocks": (0, 64), "dropout": (0.0, 1.0)}

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "batch", dropout: float = 0.5, padding: str = "reflect") -> None:
        super().__init__()
        if not isinstance(n_blocks, int) or n_blocks < 0:
            raise ConfigError(f"n_blocks must be an integer >= 0, got {n_blocks!r}")
        if self.fixed_blocks not in (None, n_blocks):
            raise ConfigError(f"{type(self).__name__} has {self.fixed_blocks} blocks; for {n_blocks} use "
                              f"'resnet' with n_blocks={n_blocks}")
        if padding not in PADDINGS:
            raise ConfigError(f"unknown padding {padding!r}; use one of {', '.join(PADDINGS)}")
        check_norm(norm)
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = norm == "instance"  # the port's rule here: with no norm its convs have no bias either
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_layer(norm, ngf),
                  nn.ReLU(True)]
        for i in range(DOWNSAMPLINGS):
            width = ngf * 2 ** i
            layers += [nn.Conv2d(width, width * 2, 3, 2, 1, bias=bias), norm_layer(norm, width * 2), nn.ReLU(True)]
        width = ngf * 2 ** DOWNSAMPLINGS
        layers += [ResnetBlock(width, norm, dropout, padding, bias) for _ in range(n_blocks)]
        for i in range(DOWNSAMPLINGS):
            width = ngf * 2 ** (DOWNSAMPLINGS - i)
            layers += [nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm_layer(norm, width // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_paper_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        return self.model(x)

    @classmethod
    def info(cls) -> dict:
        """Facts for ``i2i info``, at the default arguments."""
        net = meta_build(cls)
        blocks = sum(isinstance(m, ResnetBlock) for m in net.model)
        return {
            "parameters": parameter_count(net),
            "parameters_instance_norm": parameter_count(meta_build(lambda: cls(norm="instance"))),
            "size_multiple": net.size_multiple,
            "residual_blocks": blocks if cls.fixed_blocks is not None else f"n_blocks (default {blocks})",
            "dropout": "0.5 inside every residual block (the port's default; dropout=0 for none)",
            "norm": NORM_INFO + " (here, as in the port's ResNet, convs have biases only with instance norm)",
            "port_layout": "state dicts use the port's keys (model.N.*); the port's .pth files load unchanged",
        }

    @classmethod
    def from_port_state_dict(cls, state_dict: Mapping[str, torch.Tensor], **overrides) -> ResnetGenerator:
        """The ResNet generator that a state dict of the authors' PyTorch port describes, loaded exactly.

        Channels, ngf, number of blocks, norm and dropout are read from the tensors; ``overrides`` go to the
        constructor.
        """
        net = cls(**{**port_layout.resnet_config(state_dict), **overrides})
        net.load_state_dict(port_layout.same_layout(state_dict, net.state_dict(), "ResNet"))
        return net

    def port_state_dict(self) -> dict[str, torch.Tensor]:
        """This network's state dict in the port's layout (it is the port's layout: a copy of the dict)."""
        return dict(self.state_dict())


class Resnet9BlocksGenerator(ResnetGenerator):
    """resnet_9blocks: the port's ResNet generator with 9 residual blocks (11.38 M parameters)."""

    fixed_blocks = 9
    __init__ = partialmethod(ResnetGenerator.__init__, n_blocks=9)


class Resnet6BlocksGenerator(ResnetGenerator):
    """resnet_6blocks: the port's ResNet generator with 6 residual blocks (7.84 M parameters)."""

    fixed_blocks = 6
    __init__ = partialmethod(ResnetGenerator.__init__, n_blocks=6)
