"""The paper's discriminators: PixelGAN (1x1) and N-layer PatchGANs (16x16, 70x70, 286x286 "ImageGAN").

Each takes the already concatenated input (the cGAN loss builds ``cat([a, b], 1)``; an unconditional
one sees ``b`` only) and returns a map of logits, no sigmoid. The layers sit in one ``model``
Sequential indexed as in the authors' PyTorch port: its PatchGAN state dicts (``model.N.*``) load unchanged.
Its PixelDiscriminator keeps the same layers in ``net``: i2i's keys stay ``model.N.*`` (the run dirs'
checkpoint format) and :meth:`~LogitMapDiscriminator.from_port_state_dict` /
:meth:`~LogitMapDiscriminator.port_state_dict` convert from and to the port's ``net.N.*``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from i2i.components import Discriminator
from i2i.errors import ConfigError
from i2i_plugins import port_layout
from i2i_plugins.layers import (NORM_INFO, check_norm, conv_bias, init_paper_weights, meta_build, norm_layer,
                                parameter_count)


class LogitMapDiscriminator(Discriminator):
    """Shared constructor, forward and facts; subclasses define ``layers`` and ``receptive_field``.

    Inputs smaller than ``min_size`` (the smallest size whose deepest feature map still holds more than one
    value per channel, as batch norm needs) are zero-padded to it; larger inputs are untouched.
    """

    min_size = 1
    arg_ranges = {**Discriminator.arg_ranges, "ndf": (1, 256)}
    port_attribute = "model"  # where the port's class keeps its layers (its PixelDiscriminator: ``net``)

    def __init__(self, in_channels: int = 3, out_channels: int = 3, conditional: bool = True, ndf: int = 64,
                 norm: str = "batch") -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.conditional = in_channels, out_channels, conditional
        self.input_channels = in_channels + out_channels if conditional else out_channels
        self.model = nn.Sequential(*self.layers(self.input_channels, ndf, check_norm(norm)))
        init_paper_weights(self)

    def layers(self, channels: int, ndf: int, norm: str) -> list[nn.Module]:
        raise NotImplementedError

    @classmethod
    def from_port_state_dict(cls, state_dict, in_channels: int = 3, out_channels: int = 3, conditional: bool = True,
                             **overrides) -> LogitMapDiscriminator:
        """The discriminator a state dict of the port's matching class describes, loaded exactly.

        ndf and norm are read from the tensors; the port's D input (in + out channels when conditional) must
        match the channels given. With ``norm none`` the port's convs have no bias and i2i's have one: such
        state dicts are refused (missing keys).
        """
        prefix = f"{cls.port_attribute}."
        state = {f"model.{key[len(prefix):]}" if key.startswith(prefix) else key: v for key, v in state_dict.items()}
        first = state.get("model.0.weight")
        if first is None or first.dim() != 4:
            raise ConfigError(f"not a pix2pix PyTorch port {cls.__name__} state dict: {prefix}0.weight is missing")
        norm = ("batch" if any(key.endswith(".running_mean") for key in state)
                else "instance" if "model.2.bias" in state else "none")
        net = cls(in_channels, out_channels, conditional, **{"ndf": first.shape[0], "norm": norm, **overrides})
        net.load_state_dict(port_layout.same_layout(state, net.state_dict(), cls.__name__))
        return net

    def port_state_dict(self) -> dict[str, torch.Tensor]:
        """This network's state dict with the port's keys (loads into the port's matching class)."""
        prefix = f"{self.port_attribute}."
        return {prefix + key[len("model."):]: value for key, value in self.state_dict().items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.input_channels:
            kind = "conditional: input + output" if self.conditional else "unconditional: output only"
            raise ConfigError(f"{type(self).__name__} expects {self.input_channels} channels ({kind}), "
                              f"got {x.shape[1]}")
        short_h, short_w = max(0, self.min_size - x.shape[-2]), max(0, self.min_size - x.shape[-1])
        if short_h or short_w:  # too small for the deepest layers: judge it centred on a zero (grey) canvas
            x = F.pad(x, (short_w // 2, short_w - short_w // 2, short_h // 2, short_h - short_h // 2))
        return self.model(x)

    @classmethod
    def info(cls) -> dict:
        """Facts for ``i2i info``, at the default arguments."""
        net = meta_build(cls)
        out = net(torch.empty(1, net.input_channels, 256, 256, device="meta")).shape[-2:]
        return {
            "parameters": parameter_count(net),
            "receptive_field": f"{cls.receptive_field}x{cls.receptive_field}",
            "output_for_256x256": f"{out[0]}x{out[1]}",
            "norm": NORM_INFO,
        }


class PixelDiscriminator(LogitMapDiscriminator):
    """PixelGAN: 1x1 convs C64-C128, one logit per pixel; judges colour, not structure."""

    receptive_field = 1
    port_attribute = "net"

    def layers(self, channels: int, ndf: int, norm: str) -> list[nn.Module]:
        bias = conv_bias(norm)
        return [nn.Conv2d(channels, ndf, 1), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(norm, ndf * 2), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf * 2, 1, 1, bias=bias)]


class NLayerDiscriminator(LogitMapDiscriminator):
    """N-layer PatchGAN: 4x4 convs C64 (no norm), then N-1 more stride-2 layers and one stride-1 layer
    doubling the width up to 8*ndf, then a stride-1 conv to one logit channel."""

    n_layers: int

    @property
    def min_size(self) -> int:
        return 3 * 2 ** self.n_layers

    def layers(self, channels: int, ndf: int, norm: str) -> list[nn.Module]:
        bias = conv_bias(norm)
        widths = [ndf * min(2 ** n, 8) for n in range(self.n_layers + 1)]
        layers = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for n in range(1, self.n_layers + 1):
            stride = 2 if n < self.n_layers else 1
            layers += [nn.Conv2d(widths[n - 1], widths[n], 4, stride, 1, bias=bias), norm_layer(norm, widths[n]),
                       nn.LeakyReLU(0.2, True)]
        return [*layers, nn.Conv2d(widths[-1], 1, 4, 1, 1)]


class Patch16Discriminator(NLayerDiscriminator):
    """PatchGAN with 1 layer: 16x16 receptive field."""

    n_layers, receptive_field = 1, 16


class Patch70Discriminator(NLayerDiscriminator):
    """PatchGAN with 3 layers (C64-C128-C256-C512): 70x70 receptive field, the paper's default."""

    n_layers, receptive_field = 3, 70


class Image286Discriminator(NLayerDiscriminator):
    """ImageGAN: PatchGAN with 5 layers, 286x286 receptive field (the whole 256 image)."""

    n_layers, receptive_field = 5, 286
