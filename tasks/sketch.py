"""Make a hand sketch look like the HED edge maps that the edges → photo models were trained on.

:func:`sketch_to_edges` binarises the sketch (Otsu's threshold on luma; light strokes on dark paper are
inverted), thins every stroke to a 1-pixel skeleton (Zhang–Suen thinning, which keeps strokes
connected and loops closed) and thickens it to 2 pixels, black lines on white. Apply it after resizing
the sketch to the model's size (256), since stroke width is measured in pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from i2i.api import match_channels, to_signed_unit


def sketch_to_edges(image: torch.Tensor) -> torch.Tensor:
    """A uint8 (C, H, W) sketch (1, 3 or 4 channels) → uint8 (3, H, W): 2-px black lines on white."""
    grey = match_channels(image, 1)[0].numpy()
    ink = grey <= _otsu_threshold(grey)
    if ink.mean() > 0.5:
        ink = ~ink
    lines = _thicken(_thin(ink))
    edges = np.where(lines, 0, 255).astype(np.uint8)
    return torch.from_numpy(edges).expand(3, *edges.shape).contiguous()


def sketch_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(edges, sketch) in [-1, 1]: the model's input made from a sketch, and the sketch to show beside it."""
    return to_signed_unit(sketch_to_edges(photo)), to_signed_unit(photo)


def _otsu_threshold(grey: np.ndarray) -> int:
    """The grey level that best separates dark from light pixels (levels <= it are dark)."""
    counts = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    dark = np.cumsum(counts)[:-1]
    light = counts.sum() - dark
    dark_sum = np.cumsum(counts * np.arange(256))[:-1]
    dark_mean = dark_sum / np.maximum(dark, 1)
    light_mean = (dark_sum[-1] + 255 * counts[-1] - dark_sum) / np.maximum(light, 1)
    return int(np.argmax(dark * light * (dark_mean - light_mean) ** 2))


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of a bool mask to 1-pixel-wide, still connected strokes."""
    padded = np.pad(mask, 1)
    centre = padded[1:-1, 1:-1]
    changed = True
    while changed:
        changed = False
        for first_pass in (True, False):
            # Neighbours clockwise from north: P2 (N), P3 (NE), P4 (E), ..., P9 (NW).
            p2, p3, p4, p5 = padded[:-2, 1:-1], padded[:-2, 2:], padded[1:-1, 2:], padded[2:, 2:]
            p6, p7, p8, p9 = padded[2:, 1:-1], padded[2:, :-2], padded[1:-1, :-2], padded[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(p.astype(np.uint8) for p in ring[:8])
            rises = sum((~a & b).astype(np.uint8) for a, b in zip(ring, ring[1:]))
            if first_pass:
                guarded = (p2 & p4 & p6) | (p4 & p6 & p8)
            else:
                guarded = (p2 & p4 & p8) | (p2 & p6 & p8)
            remove = centre & (neighbours >= 2) & (neighbours <= 6) & (rises == 1) & ~guarded
            if remove.any():
                centre[remove] = False
                changed = True
    return centre.copy()


def _thicken(lines: np.ndarray) -> np.ndarray:
    """Dilate with a 2×2 square: 1-pixel lines become 2 pixels wide."""
    thick = lines.copy()
    thick[1:, :] |= lines[:-1, :]
    thick[:, 1:] |= lines[:, :-1]
    thick[1:, 1:] |= lines[:-1, :-1]
    return thick
