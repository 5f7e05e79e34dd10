"""Any-size inference: pad to a generator's size multiple, and overlapping tiles blended without seams."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from i2i.core.errors import ConfigError

Forward = Callable[[torch.Tensor], torch.Tensor]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N, C, H, W) evenly on both sides up to multiples of ``multiple``; return it and the (top, left) offset.

    Reflect padding, or replicate where the image is too small to reflect that far.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    top, left = pad_h // 2, pad_w // 2
    pads = (left, pad_w - left, top, pad_h - top)
    if not any(pads):
        return x, (0, 0)
    mode = "reflect" if max(pads[:2]) < w and max(pads[2:]) < h else "replicate"
    return F.pad(x, pads, mode=mode), (top, left)


def check_tiling(tile: int, overlap: int, multiple: int) -> None:
    """Raise a clear error unless ``tile`` is a positive multiple of ``multiple`` that can step by one."""
    if tile <= 0 or tile % multiple:
        raise ConfigError(f"tile size {tile} must be a positive multiple of the generator's size multiple {multiple}")
    if overlap < 0 or _step(tile, overlap, multiple) <= 0:
        raise ConfigError(
            f"overlap {overlap} must be at least 0 and leave a step of at least {multiple} pixels "
            f"(the generator's size multiple) in a {tile}-pixel tile; use a larger tile or a smaller overlap"
        )


def _step(tile: int, overlap: int, multiple: int) -> int:
    return (tile - overlap) // multiple * multiple


def tile_starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Start offsets of tiles covering ``length`` (a multiple of ``multiple``) with at least ``overlap`` shared.

    Starts are multiples of ``multiple`` so every tile sees the same sampling grid as the whole image.
    """
    if length <= tile:
        return [0]
    return [*range(0, length - tile, _step(tile, overlap, multiple)), length - tile]


def _ramp(size: int, overlap: int, rise: bool, fall: bool, device: torch.device) -> torch.Tensor:
    """1-D weights: a raised-cosine rise over the first/last ``overlap`` pixels, 1 elsewhere; never 0."""
    weight = torch.ones(size, device=device)
    if overlap:
        ramp = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(overlap, device=device) + 0.5) / overlap)
        if rise:
            weight[:overlap] *= ramp
        if fall:
            weight[-overlap:] *= ramp.flip(0)
    return weight


def translate_tiled(forward: Forward, image: torch.Tensor, tile: int, overlap: int, multiple: int,
                    batch_size: int) -> torch.Tensor:
    """Run ``forward`` on overlapping tiles of one (1, C, H, W) image and blend them back.

    H and W must be multiples of ``multiple`` and the tiling must pass :func:`check_tiling`;
    ``batch_size`` tiles go through ``forward`` at once.
    Each tile is weighted by a separable ramp that falls to ~0 at edges shared with a neighbour, so
    tile borders leave no seams; a purely local network gives exactly the untiled result.
    """
    h, w = image.shape[-2:]
    tile_h, tile_w = min(tile, h), min(tile, w)
    rows, cols = tile_starts(h, tile_h, overlap, multiple), tile_starts(w, tile_w, overlap, multiple)
    boxes = [(top, left) for top in rows for left in cols]
    output = weights = None
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first:first + batch_size]
        tiles = torch.cat([image[..., t:t + tile_h, l:l + tile_w] for t, l in chunk])
        result = forward(tiles).float()
        if output is None:
            output = result.new_zeros(1, result.shape[1], h, w)
            weights = result.new_zeros(1, 1, h, w)
        for (t, l), piece in zip(chunk, result):
            wy = _ramp(tile_h, overlap, t > 0, t + tile_h < h, image.device)
            wx = _ramp(tile_w, overlap, l > 0, l + tile_w < w, image.device)
            weight = wy[:, None] * wx[None, :]
            output[..., t:t + tile_h, l:l + tile_w] += piece * weight
            weights[..., t:t + tile_h, l:l + tile_w] += weight
    return output / weights
