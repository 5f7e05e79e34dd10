"""Colorization in Lab, as the authors' port and Zhang et al.'s protocol do it: lightness in, a and b out.

A is the photo's Lab lightness L, stored as the grey (R = G = B) of that lightness, so a black-and-white
photo is a valid input as it is; B is the photo's a and b channels divided by 110 (the port's scale),
2 channels in [-1, 1]. The delivered image is the input's L with the predicted a, b (:func:`compose_lab`):
the lightness is kept exactly, up to clipping to the sRGB gamut and 8-bit rounding.
"""

from __future__ import annotations

import torch

from i2i.api import lab_to_srgb, srgb_to_lab, to_signed_unit

AB_SCALE = 110.0


def lab_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(lightness, ab) from a uint8 RGB (3, H, W) photo: A (1, H, W) the grey of its L, B (2, H, W) its a, b / 110."""
    lab = srgb_to_lab(to_signed_unit(photo)[None])
    ab = lab[:, 1:].clone()
    lab[:, 1:] = 0
    grey = lab_to_srgb(lab)[0, :1]
    return grey.float(), (ab[0] / AB_SCALE).clamp(-1, 1).float()


def compose_lab(source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB: the lightness of ``source`` (grey, (N, 1, H, W)) with a, b = ``output`` × 110."""
    lightness = srgb_to_lab(source[:, :1].expand(-1, 3, -1, -1))[:, :1]
    lab = torch.cat([lightness, output.double() * AB_SCALE], 1)
    return lab_to_srgb(lab).to(output.dtype)
