"""sRGB ↔ CIE L*a*b* (D65 white, 2° observer) in torch, for images in [-1, 1].

The standard formulas (IEC 61966-2-1 transfer curve, the sRGB primaries' XYZ matrix that scikit-image
uses, CIE 1976 Lab); the tests check both directions against scikit-image's ``rgb2lab``/``lab2rgb``.
Computed in float64, returned in the input's dtype (float32 at most precise enough for uint8 images).
"""

from __future__ import annotations

import torch

XYZ_FROM_LINEAR_RGB = ((0.412453, 0.357580, 0.180423),
                       (0.212671, 0.715160, 0.072169),
                       (0.019334, 0.119193, 0.950227))
D65_WHITE = (0.95047, 1.0, 1.08883)
_DELTA = 6 / 29


def _matrix(like: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    matrix = torch.tensor(XYZ_FROM_LINEAR_RGB, dtype=torch.float64, device=like.device)
    return torch.linalg.inv(matrix) if inverse else matrix


def _white(like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(D65_WHITE, dtype=torch.float64, device=like.device).view(1, 3, 1, 1)


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in [-1, 1] (clamped) to Lab: L in [0, 100], a and b about [-110, 100]; float64."""
    rgb = ((rgb.double() + 1) / 2).clamp(0, 1)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _matrix(linear), linear) / _white(linear)
    f = torch.where(xyz > _DELTA**3, xyz.clamp_min(_DELTA**3) ** (1 / 3), xyz / (3 * _DELTA**2) + 4 / 29)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def lab_to_srgb(lab: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) Lab to sRGB in [-1, 1], float64; colours outside the sRGB gamut are clipped per channel."""
    lab = lab.double()
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _white(f)
    linear = torch.einsum("ij,njhw->nihw", _matrix(xyz, inverse=True), xyz).clamp(0, 1)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, linear * 12.92)
    return rgb * 2 - 1


def lightness_grey(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): the grey (R = G = B) of the same Lab lightness as each pixel of ``rgb``, in [-1, 1]."""
    lab = srgb_to_lab(rgb)
    lab[:, 1:] = 0
    return lab_to_srgb(lab)[:, :1]
