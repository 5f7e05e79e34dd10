"""Edge maps made from photos, in the style of the edges → photo archives: thin black lines on white.

The archives' edges come from HED (a trained network) with post-processing; without it, i2i draws them
with Canny's recipe on the photo's luma: Gaussian blur (σ = 1.4 px), Sobel gradients, non-maximum
suppression along the gradient, hysteresis between two thresholds relative to the image's strongest
edges, then the lines thickened to 2 px like the archives'.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from i2i.api import match_channels, to_signed_unit
from i2i_tasks.sketch import _thicken

SIGMA = 1.4
HIGH, LOW = 0.45, 0.18  # thresholds, as fractions of the 99th-percentile gradient magnitude


def _blur(grey: torch.Tensor) -> torch.Tensor:
    radius = int(3 * SIGMA + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-x**2 / (2 * SIGMA**2))
    kernel = kernel / kernel.sum()
    grey = F.pad(grey[None, None], (radius,) * 4, mode="replicate")
    grey = F.conv2d(grey, kernel.view(1, 1, 1, -1))
    return F.conv2d(grey, kernel.view(1, 1, -1, 1))[0, 0]


def edge_mask(grey: torch.Tensor) -> torch.Tensor:
    """(H, W) bool Canny edges of an (H, W) float image."""
    smooth = F.pad(_blur(grey)[None, None], (1, 1, 1, 1), mode="replicate")
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    gx = F.conv2d(smooth, sobel.view(1, 1, 3, 3))[0, 0]
    gy = F.conv2d(smooth, sobel.t().contiguous().view(1, 1, 3, 3))[0, 0]
    magnitude = torch.hypot(gx, gy)
    # Non-maximum suppression: keep pixels not smaller than both neighbours along the gradient (4 directions).
    angle = torch.rad2deg(torch.atan2(gy, gx)) % 180
    direction = ((angle + 22.5) // 45).long() % 4  # 0: horizontal gradient, 1: 45°, 2: vertical, 3: 135°
    padded = F.pad(magnitude[None, None], (1, 1, 1, 1))[0, 0]
    h, w = magnitude.shape
    offsets = ((0, 1), (1, 1), (1, 0), (1, -1))
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for index, (dy, dx) in enumerate(offsets):
        ahead = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        behind = padded[1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
        keep |= (direction == index) & (magnitude >= ahead) & (magnitude >= behind)
    thin = torch.where(keep, magnitude, torch.zeros_like(magnitude))
    scale = torch.quantile(magnitude.flatten(), 0.99).clamp_min(1e-6)
    strong, weak = thin >= HIGH * scale, thin >= LOW * scale
    # Hysteresis: weak edges join when connected (8-neighbourhood) to a strong one.
    edges = strong
    while True:
        grown = weak & (F.max_pool2d(edges[None, None].float(), 3, 1, 1)[0, 0] > 0)
        if torch.equal(grown, edges):
            return edges
        edges = grown


def photo_edges(photo: torch.Tensor) -> torch.Tensor:
    """A uint8 (C, H, W) photo → uint8 (3, H, W): its edges as 2-px black lines on white."""
    grey = match_channels(photo, 1)[0].float() / 255
    lines = torch.from_numpy(_thicken(edge_mask(grey).numpy()))
    edges = torch.where(lines, 0, 255).to(torch.uint8)
    return edges.expand(3, *edges.shape).contiguous()


def edges_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(edges, photo) in [-1, 1] from a jittered uint8 RGB photo."""
    return to_signed_unit(photo_edges(photo)), to_signed_unit(photo)
