"""The paper's generators: the encoder-decoder and the U-Net (the encoder-decoder with skip connections).

Every conv is 4x4, stride 2, padding 1. Encoder level i: LeakyReLU(0.2) -> Conv -> Norm (no activation
before e1; no norm on e1 nor on the innermost bottleneck). Decoder layer d_j: ReLU -> ConvTranspose ->
Norm [-> Dropout]; the last is ReLU -> ConvTranspose (with bias) -> Tanh. The U-Net concatenates
``[skip, up]`` after every decoder layer but the last. Widths: ngf * (1, 2, 4, 8, 8, ...).
Parameters are named ``encoder.<i>.conv.weight``, ``decoder.<j>.norm.bias``, ... (d1 is ``decoder.0``);
``i2i_plugins.port_layout`` converts to and from the authors' PyTorch port's nested layout.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partialmethod
from typing import Mapping

import torch
from torch import nn

from i2i.api import ConfigError, Generator
from i2i_plugins import port_layout
from i2i_plugins.layers import (NORM_INFO, check_norm, conv_bias, init_paper_weights, meta_build, norm_layer,
                                parameter_count)

MIN_LEVELS = 2
MAX_DEFAULT_LEVELS = 8
PLACEMENTS = ("port", "paper")


def dropout_layers(placement: str, num_downs: int) -> range:
    """Decoder layers (0 = d1, next to the bottleneck) that get dropout.

    ``port``: the 512-wide blocks after the innermost one (d2-d4 in unet256, as in the released
    checkpoints); ``paper``: d1-d3, as in the paper and the Lua code.
    """
    if placement == "port":
        return range(1, num_downs - 4)
    if placement == "paper":
        return range(min(3, num_downs - 1))
    raise ConfigError(f"unknown dropout_placement {placement!r}; use one of {', '.join(PLACEMENTS)}")


def _layer(**parts: nn.Module | None) -> nn.Sequential:
    """A named sequence of the given parts, skipping the ``None`` ones."""
    return nn.Sequential(OrderedDict((name, part) for name, part in parts.items() if part is not None))


class EncoderDecoderGenerator(Generator):
    """The paper's encoder-decoder: C64-C128-C256-C512-C512-C512-C512-C512 down, CD512-CD512-CD512-C512-
    C256-C128-C64 up (unet256 depth), no skips. ``num_downs`` levels; inputs must be multiples of 2**num_downs.

    ``dropout_placement`` defaults to ``port`` (see :func:`dropout_layers`); ``norm`` is batch, instance or none.
    """

    skips = False
    fixed_depth: int | None = None
    arg_ranges = {**Generator.arg_ranges, "ngf": (1, 256), "num_downs": (MIN_LEVELS, 12), "dropout": (0.0, 1.0)}

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, num_downs: int = 8,
                 norm: str = "batch", dropout: float = 0.5, dropout_placement: str = "port") -> None:
        super().__init__()
        if not isinstance(num_downs, int) or num_downs < MIN_LEVELS:
            raise ConfigError(f"num_downs must be an integer >= {MIN_LEVELS}, got {num_downs!r}")
        if self.fixed_depth not in (None, num_downs):
            raise ConfigError(f"{type(self).__name__} has {self.fixed_depth} levels; for {num_downs} use "
                              f"'unet' with num_downs={num_downs}")
        check_norm(norm)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.size_multiple = 2 ** num_downs
        widths = [ngf * min(2 ** i, 8) for i in range(num_downs)]
        bias, with_dropout = conv_bias(norm), dropout_layers(dropout_placement, num_downs)
        self.encoder = nn.ModuleList(
            _layer(act=nn.LeakyReLU(0.2) if i else None,
                   conv=nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias),
                   norm=norm_layer(norm, c_out) if 0 < i < num_downs - 1 else None)
            for i, (c_in, c_out) in enumerate(zip([in_channels, *widths], widths)))
        ups = []
        for j in range(num_downs):
            c_in = widths[-1 - j] * (2 if self.skips and j else 1)
            if j == num_downs - 1:
                ups.append(_layer(act=nn.ReLU(), conv=nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), out=nn.Tanh()))
                continue
            c_out = widths[-2 - j]
            ups.append(_layer(act=nn.ReLU(), conv=nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias),
                              norm=norm_layer(norm, c_out),
                              drop=nn.Dropout(dropout) if dropout and j in with_dropout else None))
        self.decoder = nn.ModuleList(ups)
        init_paper_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        features = []
        for down in self.encoder:
            x = down(x)
            features.append(x)
        skips = features[-2::-1] if self.skips else []
        for j, up in enumerate(self.decoder):
            x = up(x)
            if j < len(skips):
                x = torch.cat([skips[j], x], 1)
        return x

    @classmethod
    def default_args(cls, crop_size: int) -> dict:
        """The depth for a crop size when the user chose none: min(8, log2(crop)); 256 -> 8, 128 -> 7."""
        if cls.fixed_depth is not None:
            if crop_size % 2 ** cls.fixed_depth:
                raise ConfigError(f"{cls.__name__} needs crops that are multiples of {2 ** cls.fixed_depth}, "
                                  f"got {crop_size}; use 'unet', whose depth follows the crop size")
            return {"num_downs": cls.fixed_depth}
        if crop_size < 2 ** MIN_LEVELS or crop_size & (crop_size - 1):
            raise ConfigError(f"cannot pick a depth for crop size {crop_size}: it is not a power of two "
                              f">= {2 ** MIN_LEVELS}; pass num_downs explicitly")
        return {"num_downs": min(MAX_DEFAULT_LEVELS, crop_size.bit_length() - 1)}

    @classmethod
    def info(cls) -> dict:
        """Facts for ``i2i info``, at the default arguments."""
        net = meta_build(cls)
        n = len(net.encoder)
        dropped = [f"d{j + 1}" for j in dropout_layers("port", n)]
        depth = (f"{n} levels" if cls.fixed_depth else
                 "num_downs follows the crop size unless given: min(8, log2(crop)), 256 -> 8, 128 -> 7")
        return {
            "parameters": parameter_count(net),
            "parameters_instance_norm": parameter_count(meta_build(lambda: cls(norm="instance"))),
            "size_multiple": net.size_multiple,
            "depth": depth,
            "norm": NORM_INFO,
            "dropout": f"0.5 on {dropped[0]}-{dropped[-1]} (dropout_placement 'port', the PyTorch port's); "
                       f"'paper' puts it on d1-d3 as the paper and the Lua code do",
        }


class UNetGenerator(EncoderDecoderGenerator):
    """The paper's U-Net: the encoder-decoder plus skips, ``cat([e_i, d_(n-i)], 1)``; unet256 has 8 levels.

    ``dropout_placement`` defaults to ``port`` (d2-d4 in unet256, as in the released checkpoints).
    """

    skips = True

    @classmethod
    def from_port_state_dict(cls, state_dict: Mapping[str, torch.Tensor], **overrides) -> UNetGenerator:
        """The U-Net that a state dict of the authors' PyTorch port describes, loaded exactly.

        Channels, ngf, depth and norm are read from the tensors; ``overrides`` go to the constructor.
        """
        net = cls(**{**port_layout.unet_config(state_dict), **overrides})
        net.load_state_dict(port_layout.unet_from_port(state_dict, net.state_dict()))
        return net

    def port_state_dict(self) -> dict[str, torch.Tensor]:
        """This network's state dict in the port's layout (loads into the port's ``UnetGenerator``)."""
        return port_layout.unet_to_port(self.state_dict())


class UNet256Generator(UNetGenerator):
    """unet256: the U-Net with 8 levels (inputs multiples of 256), the released checkpoints' network."""

    fixed_depth = 8
    __init__ = partialmethod(UNetGenerator.__init__, num_downs=8)


class UNet128Generator(UNetGenerator):
    """unet128: the U-Net with 7 levels (inputs multiples of 128)."""

    fixed_depth = 7
    __init__ = partialmethod(UNetGenerator.__init__, num_downs=7)
