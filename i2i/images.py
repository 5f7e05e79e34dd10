"""Image files to tensors and back: decode with torchvision.io, scale to [-1, 1], match channel counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_image, encode_jpeg, encode_png

from i2i.errors import DataError

PIL_SUFFIXES = (".bmp", ".tif", ".tiff")  # torchvision.io cannot decode these; Pillow does
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", *PIL_SUFFIXES)
ARRAY_SUFFIX = ".npy"
_ARRAY_DTYPES = (np.uint8, np.uint16, np.float32)
_LUMA = (0.299, 0.587, 0.114)


def list_images(folder: Path) -> list[Path]:
    """Image files (and ``.npy`` arrays) directly inside ``folder``, sorted by name."""
    suffixes = (*IMAGE_SUFFIXES, ARRAY_SUFFIX)
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def read_image(path: Path | str) -> torch.Tensor:
    """Decode a file to a (C, H, W) uint8 or uint16 tensor with its own channel count.

    ``.npy`` files go through :func:`read_array` (which also allows float32); BMP and TIFF (8-bit, and
    16-bit grey as thermal cameras write it) through Pillow. Undecodable files raise :class:`DataError`
    naming the file.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ARRAY_SUFFIX:
        return read_array(path)
    if suffix in PIL_SUFFIXES:
        return _read_with_pillow(path)
    try:
        return decode_image(str(path), mode=ImageReadMode.UNCHANGED)
    except (RuntimeError, ValueError, OSError) as exc:
        raise DataError(f"cannot decode image {path}: {_reason(exc)}") from exc


def read_array(path: Path | str) -> torch.Tensor:
    """Load an N-channel ``.npy`` image (H, W, C) or (H, W) as (C, H, W), without unpickling.

    The dtype must be uint8, uint16 or float32 (values in [0, 1]); it is kept as is.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"cannot decode image {path}: {_reason(exc)}") from exc
    if array.ndim not in (2, 3) or array.dtype not in _ARRAY_DTYPES:
        raise DataError(
            f"cannot decode image {path}: expected an (H, W, C) uint8, uint16 or float32 array, "
            f"got {array.dtype} {array.shape}"
        )
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _read_with_pillow(path: Path | str) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image).astype(np.uint16)
            else:
                array = np.asarray(image.convert({"1": "L", "P": "RGBA", "CMYK": "RGB"}.get(image.mode, image.mode)))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode image {path}: {_reason(exc)}") from exc
    if array.dtype not in (np.uint8, np.uint16) or array.ndim not in (2, 3):
        raise DataError(f"cannot decode image {path}: unsupported {array.dtype} image of shape {array.shape}")
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _reason(exc: BaseException) -> str:
    """The last clause of a decoder error, without torchvision's ``function, file.cpp:line,`` prefix."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^\w+, \S+:\d+, ", "", first)


def to_signed_unit(image: torch.Tensor) -> torch.Tensor:
    """uint8 or uint16 (C, H, W) to float32 in [-1, 1]; float input is taken as [0, 1] (and clamped)."""
    if image.is_floating_point():
        return image.to(torch.float32).clamp(0.0, 1.0).mul_(2.0).sub_(1.0)
    peak = 65535.0 if image.dtype == torch.uint16 else 255.0
    return image.to(torch.float32).div_(peak / 2).sub_(1.0)


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """Float in [-1, 1] to uint8 in [0, 255] (rounded, clamped)."""
    return image.detach().float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).cpu()


def match_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert (C, H, W) to ``channels``: grey repeats to RGB, alpha is dropped, RGB to grey uses luma."""
    have = image.shape[0]
    if have == channels:
        return image
    if have in (2, 4) and channels == have - 1:
        return image[:-1]
    if have in (2, 4) and channels < 5:
        return match_channels(image[:-1], channels)
    if have == 1 and channels in (3, 4):
        grey = image.expand(3, *image.shape[1:])
        return grey if channels == 3 else torch.cat([grey, _opaque(image)])
    if have == 3 and channels == 1:
        weights = torch.tensor(_LUMA, dtype=torch.float32).view(3, 1, 1)
        grey = (image.to(torch.float32) * weights).sum(0, keepdim=True)
        return grey.round_().to(image.dtype) if not image.is_floating_point() else grey
    if have == 3 and channels == 4:
        return torch.cat([image, _opaque(image)])
    raise DataError(f"cannot convert a {have}-channel image to {channels} channels")


def _opaque(image: torch.Tensor) -> torch.Tensor:
    peak = 1.0 if image.is_floating_point() else torch.iinfo(image.dtype).max
    return torch.full((1, *image.shape[1:]), peak, dtype=image.dtype)


def write_image(image: torch.Tensor, path: Path | str, quality: int = 95) -> Path:
    """Write a (C, H, W) float image in [-1, 1] as PNG or JPEG (by suffix); C is 1, 3 or 4 (PNG)."""
    path = Path(path)
    data = to_uint8(image)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        encoded = encode_jpeg(data[:3] if data.shape[0] == 4 else data, quality=quality)
    elif path.suffix.lower() == ".png":
        encoded = encode_png(data)
    else:
        raise DataError(f"cannot write {path}: use a .png or .jpg name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.numpy().tobytes())
    return path
