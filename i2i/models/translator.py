"""Translate images of any size with a trained generator: paper or eval mode, optional tiles."""

from __future__ import annotations

import contextlib
import math
import sys
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from i2i.accel.cpu_conv import SmallConvGemm, choose_cpu_gemm
from i2i.accel.device import autocast, resolve_device
from i2i.accel.precision import choose_precision
from i2i.core.components import set_inference_mode
from i2i.core.errors import ConfigError, DataError
from i2i.data.images import match_channels, read_image, to_signed_unit, to_uint8
from i2i.models.compose import model_compose
from i2i.models.inference_mode import has_batch_norm, mismatch_warning
from i2i.models.modeldir import load_generator
from i2i.models.resolver import resolve_model
from i2i.models.tiling import check_tiling, pad_to_multiple, translate_tiled

ImageLike = Union[str, Path, Image.Image, torch.Tensor]
DEFAULT_TILE_BATCH = 8
AUTO_TILE_PIXELS = 4096 * 4096  # larger images are translated in tiles even without ``tile``
AUTO_TILE = 1024
_PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as a (C, H, W) uint8 (or uint16 for 16-bit grey) tensor; palettes become RGB(A)."""
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    array = np.asarray(image)
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """A (C, H, W) float image in [-1, 1] with 1 to 4 channels as a PIL image."""
    channels = image.shape[0]
    if channels not in _PIL_MODES:
        raise DataError(f"cannot make a PIL image from {channels} channels; translate a float tensor instead")
    array = to_uint8(image).permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode=_PIL_MODES[channels])


class Translator:
    """A generator ready for inference on ``device``.

    ``mode``: ``paper`` (dropout on, batch-norm over the batch being translated, as the paper tests) or
    ``eval`` (running statistics, no dropout); ``None`` takes the model's ``inference_mode``, which fits
    its training (:mod:`i2i.models.inference_mode`; a mode that does not prints one warning line). In paper
    mode the images (or tiles) of one forward pass share batch statistics, so ``batch_size`` 1 matches
    the paper. ``tile``: translate overlapping ``tile``-pixel tiles blended over ``overlap`` pixels
    (exact for eval-mode networks whose receptive field fits the overlap). ``batch_size``: images per
    forward pass (default 1), or tiles per pass when tiling (default 8). Without ``tile``, an image over
    :data:`AUTO_TILE_PIXELS` (16.8 Mpx) is still translated in 1024-pixel tiles (with a warning), which
    bounds memory for images up to the pixel cap (:func:`i2i.data.images.max_image_pixels`). ``seed``: paper mode's dropout
    starts from this seed on every call, so an image's output does not depend on what ran before.
    Outputs are the model's task's ``compose(input, output)`` when the model records one (:mod:`i2i.models.compose`).
    ``precision``: ``auto`` (bf16 where the hardware runs it natively, else fp32; see :mod:`i2i.accel.precision`),
    fp32, bf16 or fp16; ``precision_choice`` says what was chosen and why. ``cpu_gemm``: run the CPU's small
    convolutions as one GEMM (:func:`i2i.accel.cpu_conv.choose_cpu_gemm`; None: ``$I2I_CPU_GEMM``, else on).
    """

    def __init__(self, generator: nn.Module, config: dict[str, Any], *, device: str = "auto", mode: str | None = None,
                 precision: str = "auto", tile: int | None = None, overlap: int = 32, batch_size: int | None = None,
                 seed: int | None = None, cpu_gemm: bool | None = None) -> None:
        self.config = config
        self.device = resolve_device(device)
        self.precision_choice = choose_precision(precision, self.device)
        self.precision = self.precision_choice.precision
        self.mode = mode or config["inference_mode"]
        warning = mode and mismatch_warning(mode, config.get("train_batch_size"), has_batch_norm(generator))
        if warning:
            print(warning, file=sys.stderr, flush=True)
        self.compose = model_compose(config)
        self.in_channels, self.out_channels = config["in_channels"], config["out_channels"]
        self.size_multiple = getattr(generator, "size_multiple", 1)
        if tile is not None:
            check_tiling(tile, overlap, self.size_multiple)
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {batch_size}")
        self.tile, self.overlap, self.seed = tile, overlap, seed
        self.batch_size = batch_size or (DEFAULT_TILE_BATCH if tile else 1)
        # channels_last lets oneDNN / cuDNN pick their fast NHWC convolution kernels.
        self.memory_format = torch.channels_last if self.device.type in ("cpu", "cuda") else torch.contiguous_format
        self.generator = set_inference_mode(generator.to(self.device, memory_format=self.memory_format), self.mode)
        # On the CPU, the big inner convolutions run as one GEMM with weights laid out once (bench/RESULTS.md).
        gemm, _ = choose_cpu_gemm(cpu_gemm, self.device)
        self._small_convs = SmallConvGemm(cache_weights=True) if gemm else None

    @classmethod
    def load(cls, model: str | Path, device: str = "auto", mode: str | None = None, precision: str = "auto",
             tile: int | None = None, overlap: int = 32, batch_size: int | None = None,
             seed: int | None = None, cpu_gemm: bool | None = None) -> "Translator":
        """A translator for a model dir, a run dir, a registered model id such as ``pix2pix/sat2map`` or a Hub
        id ``ORG/NAME[@REV]`` (see :mod:`i2i.models.resolver`; a local path that exists wins)."""
        generator, config = load_generator(resolve_model(model))
        return cls(generator, config, device=device, mode=mode, precision=precision, tile=tile, overlap=overlap,
                   batch_size=batch_size, seed=seed, cpu_gemm=cpu_gemm)

    def prepare(self, image: ImageLike) -> torch.Tensor:
        """The model's input for ``image``: (in_channels, H, W) float32 in [-1, 1].

        Paths are decoded and scaled as training data is (integers from their full range, float ``.npy``
        from [0, 1]); PIL images and integer tensors are scaled from their full range; float tensors are
        taken as already in [-1, 1].
        """
        if isinstance(image, (str, Path)):
            return to_signed_unit(match_channels(read_image(image), self.in_channels))
        if isinstance(image, Image.Image):
            image = pil_to_tensor(image)
        elif not isinstance(image, torch.Tensor):
            raise DataError(f"cannot translate a {type(image).__name__}; pass a path, a PIL image or a tensor")
        if image.dim() != 3:
            raise DataError(f"expected a (C, H, W) image, got shape {tuple(image.shape)}")
        if image.is_floating_point():
            return match_channels(image.float(), self.in_channels)
        return to_signed_unit(match_channels(image, self.in_channels))

    @property
    def images_per_pass(self) -> int:
        """Images per forward pass: ``batch_size``, or 1 when tiling (its tiles are batched instead)."""
        return 1 if self.tile else self.batch_size

    def translate(self, image: ImageLike) -> Image.Image | torch.Tensor:
        """Translate one image; a float tensor gives a (C, H, W) float tensor in [-1, 1], anything else a PIL image."""
        return self.translate_batch([image])[0]

    def translate_batch(self, images: Sequence[ImageLike]) -> list[Image.Image | torch.Tensor]:
        """Translate several images, ``batch_size`` same-size images per forward pass; outputs keep the order."""
        inputs = [self.prepare(image) for image in images]
        outputs: list[torch.Tensor | None] = [None] * len(inputs)
        by_size: dict[tuple[int, int], list[int]] = {}
        for index, tensor in enumerate(inputs):
            by_size.setdefault(tuple(tensor.shape[-2:]), []).append(index)
        step = self.images_per_pass
        with self._rng() as reseed, torch.no_grad():
            for indices in by_size.values():
                for first in range(0, len(indices), step):
                    chunk = indices[first:first + step]
                    batch = torch.stack([inputs[i] for i in chunk])
                    reseed(batch)
                    result = self._translate(batch.to(self.device))
                    for i, out in zip(chunk, result.cpu()):
                        outputs[i] = out
        return [out.to(image.device) if isinstance(image, torch.Tensor) and image.is_floating_point()
                else tensor_to_pil(out) for image, out in zip(images, outputs)]

    @contextlib.contextmanager
    def _rng(self) -> Iterator[Callable[[torch.Tensor], None]]:
        """Seeded dropout, without disturbing the caller's random state. Yields ``reseed(batch)``: each forward
        pass starts from ``seed`` mixed with its input's content, so an image's output does not depend on what
        ran before, and different images get independent dropout masks (as the paper's test pass does)."""
        if self.seed is None:
            yield lambda batch: None
            return
        devices = [] if self.device.type == "cpu" else [self.device]
        with torch.random.fork_rng(devices=devices, device_type=self.device.type):
            yield lambda batch: torch.manual_seed(
                zlib.crc32(batch.contiguous().numpy().tobytes(), self.seed & 0xFFFFFFFF))

    def _translate(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) on the device to float32 outputs of the same size (padded, maybe tiled, cropped)."""
        h, w = batch.shape[-2:]
        padded, (top, left) = pad_to_multiple(batch, self.size_multiple)
        tile = self.tile or self._auto_tile(h, w)
        if tile:
            batch_size = self.batch_size if self.tile else DEFAULT_TILE_BATCH
            out = torch.cat([translate_tiled(self._forward, image[None], tile, self.overlap, self.size_multiple,
                                             batch_size) for image in padded])
        else:
            out = self._forward(padded).float()
        out = out[..., top:top + h, left:left + w].contiguous()
        return self.compose(batch, out).float() if self.compose else out

    def _auto_tile(self, h: int, w: int) -> int | None:
        """The tile size for an image too big to translate whole (see the class docstring), else ``None``."""
        if h * w <= AUTO_TILE_PIXELS:
            return None
        tile = math.ceil(AUTO_TILE / self.size_multiple) * self.size_multiple
        check_tiling(tile, self.overlap, self.size_multiple)
        print(f"i2i: warning: translating a {w}x{h} image in {tile}-pixel tiles to bound memory "
              f"(choose the tile size with --tile)", file=sys.stderr, flush=True)
        return tile

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._small_convs or contextlib.nullcontext(), autocast(self.device, self.precision):
            return self.generator(x.contiguous(memory_format=self.memory_format))
