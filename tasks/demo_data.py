"""Procedural street scenes for the offline ``demo`` task: flat label maps (A) and textured renders (B).

Each scene has sky over ground, buildings (rectangles, some with triangular roofs) with a grid of
windows, and trees (ellipses). A paints every class one flat colour; B gives each class its own
texture and shading, so a model has to learn a real mapping: sky is a vertical gradient with faint
clouds, ground is speckled soil darkening towards the bottom, buildings are brick walls, windows are
dark glass with diagonal reflections, trees are mottled foliage. Everything is numpy and a pure
function of (seed, split, index): the same arguments write byte-identical PNGs.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from i2i_tasks.demo import LABEL_COLORS

CLASSES = tuple(name for name, _ in LABEL_COLORS)
SKY, GROUND, BUILDING, WINDOW, TREE = range(len(CLASSES))
PALETTE = np.array([color for _, color in LABEL_COLORS], dtype=np.uint8)
SPLIT_COUNTS = {"train": 400, "val": 50, "test": 50}
DEFAULT_SIZE = 72


def synthesize(root: Path | str, split: str, count: int | None = None, size: int = DEFAULT_SIZE,
               seed: int = 0) -> list[Path]:
    """Write ``count`` aligned A|B pairs (``size`` pixels per side) as ``root/split/NNNN.png``.

    ``count`` defaults to the demo's split size (400 train, 50 val, 50 test). Pair ``i`` depends
    only on ``(seed, split, i)``, so a larger count extends a split without changing its first pairs.
    """
    count = SPLIT_COUNTS.get(split, 0) if count is None else count
    folder = Path(root) / split
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        rng = np.random.default_rng([seed, zlib.crc32(split.encode()), index])
        labels = scene_labels(rng, size)
        pair = np.concatenate([PALETTE[labels], render(rng, labels)], axis=1)
        path = folder / f"{index:04d}.png"
        Image.fromarray(pair).save(path)
        paths.append(path)
    return paths


def scene_labels(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random (size, size) map of class indices: sky, ground, buildings with windows, trees."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    horizon = rng.uniform(0.5, 0.75)
    labels = np.where(yy < horizon, SKY, GROUND).astype(np.uint8)
    for _ in range(rng.integers(1, 4)):
        left = rng.uniform(-0.1, 0.8)
        right = left + rng.uniform(0.2, 0.45)
        top = rng.uniform(0.1, horizon - 0.2)
        bottom = horizon + rng.uniform(0.0, 0.08)
        labels[(xx >= left) & (xx < right) & (yy >= top) & (yy < bottom)] = BUILDING
        if rng.random() < 0.5:
            roof = [(left, top), (right, top), ((left + right) / 2, top - rng.uniform(0.05, 0.15))]
            labels[_inside_convex(xx, yy, roof)] = BUILDING
        _add_windows(rng, labels, xx, yy, (left, top, right, bottom))
    for _ in range(rng.integers(0, 4)):
        cx, cy = rng.uniform(0.0, 1.0), horizon + rng.uniform(-0.15, 0.1)
        rx, ry = rng.uniform(0.07, 0.16), rng.uniform(0.08, 0.2)
        labels[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1] = TREE
    return labels


def _add_windows(rng, labels, xx, yy, box) -> None:
    """A grid of window panes inside a building's box, some left out at random."""
    left, top, right, bottom = box
    pane_w, pane_h = rng.uniform(0.05, 0.09), rng.uniform(0.06, 0.1)
    gap_x, gap_y = pane_w * rng.uniform(0.5, 1.0), pane_h * rng.uniform(0.5, 0.9)
    in_x = np.mod(xx - left - gap_x, pane_w + gap_x) < pane_w
    in_y = np.mod(yy - top - gap_y, pane_h + gap_y) < pane_h
    inside = (xx >= left + gap_x) & (xx < right - gap_x) & (yy >= top + gap_y) & (yy < bottom - 2 * gap_y)
    column = np.floor((xx - left - gap_x) / (pane_w + gap_x)).astype(int)
    row = np.floor((yy - top - gap_y) / (pane_h + gap_y)).astype(int)
    kept = rng.random((16, 16)) < 0.85  # at most 14 columns and 12 rows fit
    panes = inside & in_x & in_y & kept[row.clip(0, 15), column.clip(0, 15)]
    labels[panes & (labels == BUILDING)] = WINDOW


def _inside_convex(xx, yy, vertices) -> np.ndarray:
    """Mask of the points inside a convex polygon given in either winding order."""
    signs = []
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:] + vertices[:1]):
        signs.append((x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) >= 0)
    signs = np.stack(signs)
    return signs.all(0) | (~signs).all(0)


def render(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """The (size, size, 3) uint8 photo-like rendering of a label map: one texture per class."""
    size = labels.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    textures = np.stack([
        _sky(rng, yy / size, size),
        _ground(rng, yy / size, size),
        _bricks(rng, yy, xx),
        _glass(rng, yy, xx),
        _foliage(rng, size),
    ])
    image = np.take_along_axis(textures, labels[None, :, :, None].astype(np.intp), axis=0)[0]
    return (image.clip(0, 1) * 255).round().astype(np.uint8)


def _mix(weight: np.ndarray, low, high) -> np.ndarray:
    """Per-pixel blend of two RGB colours by a (H, W) weight in [0, 1]."""
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    return low + weight[..., None] * (high - low)


def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth (size, size) noise in [0, 1]: a random ``cells`` grid, bilinearly interpolated."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, size, endpoint=False, dtype=np.float32)
    i, f = t.astype(int), t - t.astype(int)
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f) + rows[:, i + 1] * f


def _sky(rng, y, size) -> np.ndarray:
    """Deep blue at the top fading to pale haze, with faint soft clouds."""
    zenith = (0.15, 0.35, 0.75) + rng.uniform(-0.05, 0.05, 3)
    sky = _mix(np.clip(y * 1.4, 0, 1), zenith, (0.75, 0.85, 0.95))
    clouds = np.clip(_value_noise(rng, size, 4) * 2 - 1.1, 0, 1)[..., None]
    return sky + 0.6 * clouds * (0.95 - sky)


def _ground(rng, y, size) -> np.ndarray:
    """Speckled brown soil, darker towards the bottom edge."""
    base = np.array((0.55, 0.42, 0.25), np.float32) * rng.uniform(0.9, 1.1)
    speckle = rng.random((size, size), dtype=np.float32)
    return base * (1.1 - 0.5 * y)[..., None] * (0.7 + 0.5 * speckle)[..., None]


def _bricks(rng, yy, xx, height=6, width=12) -> np.ndarray:
    """Staggered red-brown bricks with light mortar, lit from one side."""
    row = np.floor((yy + rng.integers(height)) / height)
    shifted = xx + rng.integers(width) + (row % 2) * width / 2
    mortar = (np.mod(yy + rng.integers(height), height) < 1) | (np.mod(shifted, width) < 1)
    brick = (0.65, 0.25, 0.15) + rng.uniform(-0.08, 0.08, 3)
    shade = 1.0 + 0.12 * np.cos(row * 2.3 + np.floor(shifted / width) * 1.7)[..., None]
    light = 0.75 + 0.4 * (xx / xx.shape[1] if rng.random() < 0.5 else 1 - xx / xx.shape[1])
    wall = np.where(mortar[..., None], np.float32(0.8), brick * shade)
    return wall * light[..., None]


def _glass(rng, yy, xx, period=7) -> np.ndarray:
    """Dark blue-grey glass crossed by bright diagonal reflection stripes."""
    stripes = np.mod(xx + yy + rng.integers(period), period) < 2
    return _mix(stripes.astype(np.float32), (0.1, 0.15, 0.25), (0.7, 0.8, 0.9))


def _foliage(rng, size) -> np.ndarray:
    """Mottled green leaves: coarse and fine smooth noise."""
    leaves = 0.6 * _value_noise(rng, size, size // 6) + 0.4 * _value_noise(rng, size, size // 3)
    return _mix(leaves, (0.05, 0.25, 0.05), (0.35, 0.7, 0.2))
