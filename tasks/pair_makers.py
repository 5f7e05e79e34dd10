"""Pair makers for the inpainting tasks (holes → photo), and their compose step.

Each takes a jittered uint8 RGB (3, H, W) photo and a ``torch.Generator`` and returns (A, B) in [-1, 1].
"""

from __future__ import annotations

import torch

from i2i.api import to_signed_unit
from i2i_tasks.masks import centre_mask, random_mask

FILL = 0.0  # the value of hole pixels: mid grey in [-1, 1]


def holed_pair(photo: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(holed, photo): A is the photo with ``hole`` ((H, W) bool) set to :data:`FILL`, then a validity
    channel, +1 where pixels are known and -1 in the hole (4 channels); B is the photo."""
    target = to_signed_unit(photo)
    validity = torch.where(hole, -1.0, 1.0).unsqueeze(0)
    return torch.cat([torch.where(hole, FILL, target), validity]), target


def centre_hole_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The photo missing its centre square of half the side (Pathak et al.'s protocol)."""
    return holed_pair(photo, centre_mask(*photo.shape[-2:]))


def random_hole_pair(photo: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The photo missing random rectangles and brush strokes (:func:`i2i_tasks.masks.random_mask`)."""
    return holed_pair(photo, random_mask(*photo.shape[-2:], generator))


def paste_known(source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """The inpainting tasks' compose step: the known pixels of ``source`` (holed photo + validity channel,
    see :func:`holed_pair`) with ``output`` only in the hole."""
    known = source[:, 3:4] > 0
    return torch.where(known, source[:, :3], output)
