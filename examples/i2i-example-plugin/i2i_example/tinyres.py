"""A small residual generator: downsample twice, a few residual blocks, upsample twice."""

import torch
from torch import nn

from i2i.api import Generator


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.InstanceNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, width, 3, padding=1), nn.InstanceNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TinyResGenerator(Generator):
    """(N, in, H, W) -> (N, out, H, W) in [-1, 1]; H and W must be multiples of 4."""

    size_multiple = 4
    arg_ranges = {**Generator.arg_ranges, "width": (1, 512), "blocks": (0, 64)}

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 32, blocks: int = 3) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.ReLU(True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1), nn.ReLU(True),
            *[_Residual(width * 4) for _ in range(blocks)],
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1), nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1), nn.ReLU(True),
            nn.Conv2d(width, out_channels, 3, padding=1), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        return self.net(x)
