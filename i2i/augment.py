"""The paper's paired jitter on tv_tensors: one resize, crop and flip shared by A and B.

Training: resize to ``load_size`` × ``load_size`` (bicubic, antialiased, aspect not kept), crop
``crop_size`` at a random place, flip horizontally with p 0.5 (unless ``flip=False``). Evaluation:
resize to ``crop_size``, no crop, no flip. The random parameters are drawn from a generator the
caller passes (seeded per item), never from the global RNG, and applied with
``torchvision.transforms.v2.functional`` to every image of the pair. The resize is deterministic, so
callers may cache its result (:meth:`PairJitter.resize`) and draw only crop and flip per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from i2i.errors import ConfigError


@dataclass(frozen=True)
class CropFlip:
    """One item's random geometry: the crop's top-left corner and whether to mirror."""

    top: int = 0
    left: int = 0
    flip: bool = False


@dataclass(frozen=True)
class PairJitter:
    """Resize, random crop and random flip with identical parameters for every image of a pair."""

    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    train: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.crop_size <= self.load_size:
            raise ConfigError(f"crop size {self.crop_size} must be positive and at most the load size {self.load_size}")

    @property
    def resize_to(self) -> int:
        return self.load_size if self.train else self.crop_size

    def resize(self, image: torch.Tensor) -> torch.Tensor:
        """The deterministic step: (C, H, W) of any dtype to ``resize_to`` square (a no-op if already)."""
        size = self.resize_to
        if tuple(image.shape[-2:]) == (size, size):
            return image
        resized = F.resize(tv_tensors.Image(image), [size, size], InterpolationMode.BICUBIC, antialias=True)
        return resized.as_subclass(torch.Tensor)

    def sample(self, generator: torch.Generator) -> CropFlip:
        """Draw one item's crop corner and flip from ``generator`` (always the same draws, in order)."""
        if not self.train:
            return CropFlip()
        span = self.load_size - self.crop_size + 1
        top, left = torch.randint(span, (2,), generator=generator).tolist()
        mirror = torch.rand((), generator=generator).item() < 0.5
        return CropFlip(top, left, self.flip and mirror)

    def apply(self, image: torch.Tensor, params: CropFlip) -> torch.Tensor:
        """Crop and flip an already resized (C, H, W) image with ``params``."""
        out = tv_tensors.Image(image)
        if out.shape[-1] != self.crop_size or out.shape[-2] != self.crop_size:
            out = F.crop(out, params.top, params.left, self.crop_size, self.crop_size)
        if params.flip:
            out = F.horizontal_flip(out)
        return out.as_subclass(torch.Tensor)

    def __call__(self, images: tuple[torch.Tensor, ...], generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Jitter every image in ``images`` with the same freshly drawn geometry."""
        params = self.sample(generator)
        return tuple(self.apply(self.resize(image), params) for image in images)
