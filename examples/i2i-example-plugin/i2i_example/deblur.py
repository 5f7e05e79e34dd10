"""Pairs for the deblur task: input is the photo under a Gaussian blur of random strength."""

import torch
from torchvision.transforms.v2 import functional as TF

from i2i.api import to_signed_unit


def blur_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(blurred, sharp) in [-1, 1] from a uint8 (C, H, W) photo."""
    sigma = 0.5 + 2.0 * torch.rand((), generator=generator).item()
    sharp = to_signed_unit(photo)
    return TF.gaussian_blur(sharp, kernel_size=9, sigma=sigma), sharp
