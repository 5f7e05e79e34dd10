"""The paper's paired jitter on tv_tensors: one resize, crop and flip shared by A and B.

``preprocess`` picks the PyTorch port's modes (its ``--preprocess``), each applied with the same parameters
to every image of a pair:

- ``resize_and_crop`` (the paper's): resize to ``load_size`` x ``load_size`` (aspect not kept), random
  ``crop_size`` crop.
- ``scale_width_and_crop``: scale to width ``load_size`` keeping the aspect (height at least ``crop_size``),
  random ``crop_size`` crop.
- ``scale_width``: the same scaling, no crop (sizes follow the images' aspect).
- ``crop``: no resize, random ``crop_size`` crop of the image as it is.
- ``none``: no resize but to the nearest multiples of 4 (the port's ``__make_power_2`` with base 4), no crop.

Then a horizontal flip with p 0.5 unless ``flip=False``. Resizes are bicubic and antialiased. Evaluation
(``train=False``) uses the mode's resize with ``load_size`` = ``crop_size`` (as the port's test options
do), no crop and no flip: ``resize_and_crop`` gives ``crop_size`` squares, ``crop`` keeps the image.

The random parameters are drawn from a generator the caller passes (seeded per item), never from the
global RNG. The resize is deterministic, so callers may cache its result (:meth:`PairJitter.resize`) and
draw only crop and flip per epoch (:meth:`PairJitter.sample` with the resized size).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from i2i.core.task import check_preprocess

SIZE_BASE = 4  # the port's __make_power_2 base for ``none``


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
    preprocess: str = "resize_and_crop"

    def __post_init__(self) -> None:
        check_preprocess(self.preprocess, self.load_size, self.crop_size)

    @property
    def crops(self) -> bool:
        return self.train and "crop" in self.preprocess

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """The size the deterministic step makes of a ``height`` x ``width`` image."""
        load = self.load_size if self.train else self.crop_size
        if self.preprocess == "resize_and_crop":
            return load, load
        if self.preprocess.startswith("scale_width"):
            if width == load and height >= self.crop_size:
                return height, width
            return int(max(load * height / width, self.crop_size)), load
        if self.preprocess == "none":
            return tuple(max(SIZE_BASE, int(round(side / SIZE_BASE) * SIZE_BASE)) for side in (height, width))
        return height, width

    def resize(self, image: torch.Tensor) -> torch.Tensor:
        """The deterministic step: (C, H, W) of any dtype to :meth:`resized_size` (a no-op if already)."""
        size = list(self.resized_size(*image.shape[-2:]))
        if list(image.shape[-2:]) == size:
            return image
        resized = F.resize(tv_tensors.Image(image), size, InterpolationMode.BICUBIC, antialias=True)
        return resized.as_subclass(torch.Tensor)

    def sample(self, generator: torch.Generator, size: tuple[int, int] | None = None) -> CropFlip:
        """Draw one item's crop corner and flip from ``generator`` for a resized image of ``size`` (H, W)
        (default: ``load_size`` square); always the same draws, in order."""
        if not self.train:
            return CropFlip()
        height, width = size or (self.load_size, self.load_size)
        span_h, span_w = max(1, height - self.crop_size + 1), max(1, width - self.crop_size + 1)
        if span_h == span_w:  # one draw of two, as before other modes existed: the same streams
            top, left = torch.randint(span_h, (2,), generator=generator).tolist()
        else:
            top, left = (int(torch.randint(span, (1,), generator=generator)) for span in (span_h, span_w))
        mirror = torch.rand((), generator=generator).item() < 0.5
        return CropFlip(top, left, self.flip and mirror)

    def apply(self, image: torch.Tensor, params: CropFlip) -> torch.Tensor:
        """Crop (in the cropping modes) and flip an already resized (C, H, W) image with ``params``.

        An image smaller than the crop is zero-padded on the bottom and right, as the port's PIL crop does.
        """
        out = tv_tensors.Image(image)
        if self.crops and tuple(out.shape[-2:]) != (self.crop_size, self.crop_size):
            out = F.crop(out, params.top, params.left, self.crop_size, self.crop_size)
        if params.flip:
            out = F.horizontal_flip(out)
        return out.as_subclass(torch.Tensor)

    def __call__(self, images: tuple[torch.Tensor, ...], generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Jitter every image in ``images`` with the same freshly drawn geometry."""
        resized = tuple(self.resize(image) for image in images)
        params = self.sample(generator, tuple(resized[0].shape[-2:]))
        return tuple(self.apply(image, params) for image in resized)
