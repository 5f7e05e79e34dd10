"""Hole masks for inpainting pairs: the centre square, or random rectangles and brush strokes."""

from __future__ import annotations

import math

import torch


def centre_mask(height: int, width: int) -> torch.Tensor:
    """(H, W) bool, True in the centred rectangle of half the height and half the width."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    top, left = height // 4, width // 4
    mask[top:top + height // 2, left:left + width // 2] = True
    return mask


def random_mask(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """(H, W) bool holes drawn from ``generator``: 1–3 rectangles and 1–3 brush strokes.

    Rectangle sides are 1/8–1/2 of the image's; a stroke is a polyline of 2–5 segments, each 1/8–1/3 of
    the shorter side long, 1/32–1/12 of it wide, with round ends.
    """
    side = min(height, width)
    mask = torch.zeros(height, width, dtype=torch.bool)
    for _ in range(_integer(1, 3, generator)):
        h, w = _integer(height // 8, height // 2, generator), _integer(width // 8, width // 2, generator)
        top, left = _integer(0, height - h, generator), _integer(0, width - w, generator)
        mask[top:top + h, left:left + w] = True
    rows = torch.arange(height, dtype=torch.float32).view(-1, 1)
    cols = torch.arange(width, dtype=torch.float32).view(1, -1)
    for _ in range(_integer(1, 3, generator)):
        radius = _uniform(side / 64, side / 24, generator)
        point = torch.tensor([_uniform(0, height - 1, generator), _uniform(0, width - 1, generator)])
        for _ in range(_integer(2, 5, generator)):
            angle, length = _uniform(0, 2 * math.pi, generator), _uniform(side / 8, side / 3, generator)
            step = torch.tensor([math.sin(angle), math.cos(angle)]) * length
            end = (point + step).clamp(torch.zeros(2), torch.tensor([height - 1.0, width - 1.0]))
            mask |= _near_segment(rows, cols, point, end, radius)
            point = end
    return mask


def _near_segment(rows: torch.Tensor, cols: torch.Tensor, start: torch.Tensor, end: torch.Tensor,
                  radius: float) -> torch.Tensor:
    """Pixels within ``radius`` of the segment from ``start`` to ``end`` ((row, col) points)."""
    dy, dx = (end - start).tolist()
    along = ((rows - start[0]) * dy + (cols - start[1]) * dx) / max(dy * dy + dx * dx, 1e-6)
    along = along.clamp(0.0, 1.0)
    return (rows - start[0] - along * dy) ** 2 + (cols - start[1] - along * dx) ** 2 <= radius**2


def _integer(low: int, high: int, generator: torch.Generator) -> int:
    """A uniform integer in [low, high]."""
    return int(torch.randint(low, max(high, low) + 1, (), generator=generator))


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))
