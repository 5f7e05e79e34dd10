"""Image files to tensors and back: decode as a viewer shows them, scale to [-1, 1], match channel counts.

Every file is opened with Pillow first, which reads only the header: the pixel count is checked against
the cap (:func:`max_image_pixels`) before anything is decoded, and animated images are refused. JPEGs
(grey or RGB) are then decoded by torchvision.io (libjpeg-turbo, with the EXIF orientation applied);
everything else by Pillow, because torchvision's PNG decoder crashes the process on a truncated image
stream. Palettes become RGB(A), EXIF orientation is applied, 16-bit grey stays 16-bit, and 16-bit colour
PNGs (which Pillow cuts to 8 bits) are decoded by torchvision once Pillow has read them without error.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_image, encode_jpeg, encode_png

from i2i.core.errors import DataError
from i2i.data.limits import read_limit

PIL_SUFFIXES = (".bmp", ".tif", ".tiff")  # read by Pillow (as PNG, GIF and WebP are)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", *PIL_SUFFIXES)
ARRAY_SUFFIX = ".npy"
MAX_PIXELS_ENV = "I2I_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 90_000_000  # about Pillow's own bomb limit (89.5 Mpx): 270 MB as 8-bit RGB
_ARRAY_DTYPES = (np.uint8, np.uint16, np.float32)
_LUMA = (0.299, 0.587, 0.114)
_SIXTEEN_BIT_COLOUR = ("RGB;16B", "RGBA;16B", "LA;16B")  # PNG raw modes that Pillow reduces to 8 bits
_TO_PIL_MODE = {"1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}

ImageSource = Union[Path, str, bytes]


def list_images(folder: Path) -> list[Path]:
    """Image files (and ``.npy`` arrays) directly inside ``folder``, sorted by name."""
    suffixes = (*IMAGE_SUFFIXES, ARRAY_SUFFIX)
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def display_path(path: Path | str) -> str:
    """``path`` for messages: bytes that are not valid UTF-8 (kept by Python as surrogates) shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def max_image_pixels() -> int:
    """The most pixels (width x height) an image may have: ``$I2I_MAX_IMAGE_PIXELS`` or 90 million."""
    return int(read_limit(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS))


def check_pixels(width: int, height: int, name: str, max_pixels: int | None = None) -> None:
    """Refuse an image of ``width`` x ``height`` above the pixel cap, before it is decoded."""
    limit = max_image_pixels() if max_pixels is None else max_pixels
    if width * height > limit:
        raise _too_big(name, f"{width}x{height} is {width * height / 1e6:.1f} Mpx", limit)


def _too_big(name: str, size: str, limit: int) -> DataError:
    return DataError(f"refusing {name}: {size}, over the limit of {limit / 1e6:.1f} Mpx "
                     f"(raise it with {MAX_PIXELS_ENV}=PIXELS if the image is genuine)")


def read_image(source: ImageSource, *, max_pixels: int | None = None, name: str | None = None) -> torch.Tensor:
    """Decode a file (or its bytes) to a (C, H, W) uint8 or uint16 tensor with its own channel count.

    ``.npy`` files go through :func:`read_array` (which also allows float32). Images above ``max_pixels``
    (default :func:`max_image_pixels`), animated images and undecodable files raise :class:`DataError`
    naming the file (``name``, for bytes).
    """
    limit = max_image_pixels() if max_pixels is None else max_pixels
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), name or "the uploaded image", limit)
    name = name or display_path(source)
    if Path(source).suffix.lower() == ARRAY_SUFFIX:
        return read_array(source, max_pixels=limit)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return _decode(data, name, limit)


def read_array(path: Path | str, *, max_pixels: int | None = None) -> torch.Tensor:
    """Load an N-channel ``.npy`` image (H, W, C) or (H, W) as (C, H, W), without unpickling.

    The dtype must be uint8, uint16 or float32 (values in [0, 1]); it is kept as is.
    """
    name = display_path(path)
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"cannot decode image {name}: {_reason(exc)}") from exc
    if array.ndim not in (2, 3) or array.dtype not in _ARRAY_DTYPES:
        raise DataError(
            f"cannot decode image {name}: expected an (H, W, C) uint8, uint16 or float32 array, "
            f"got {array.dtype} {array.shape}"
        )
    check_pixels(array.shape[1], array.shape[0], name, max_pixels)
    return _to_chw(array)


def _to_chw(array: np.ndarray) -> torch.Tensor:
    """An (H, W[, C]) array as a (C, H, W) tensor that owns its (writable) memory."""
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def _decode(data: bytes, name: str, limit: int) -> torch.Tensor:
    """Header checks with Pillow, then the decoder that is both safe and exact for the format."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limit  # Pillow's own bomb check then agrees with ours (it errors above 2x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                check_pixels(*image.size, name, limit)
                frames = getattr(image, "n_frames", 1)
                if frames > 1 and image.format != "MPO":  # MPO: a camera's JPEG with extra views; the first is the photo
                    raise DataError(f"cannot read {name}: it is an animated {image.format} with {frames} frames; "
                                    f"save the frame you want as a PNG")
                if image.format in ("JPEG", "MPO") and image.mode in ("L", "RGB"):
                    return _decode_with_torchvision(data, name)
                sixteen_bit_colour = image.format == "PNG" and image.tile and image.tile[0][3] in _SIXTEEN_BIT_COLOUR
                pixels = _pillow_pixels(image, name)
                return _decode_with_torchvision(data, name) if sixteen_bit_colour else pixels
    except DataError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's check ran first: over twice the limit
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_big(name, f"{int(pixels[1]) / 1e6:.1f} Mpx" if pixels else "too many pixels", limit) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a decoder on a hostile file is that file's fault
        raise DataError(f"cannot decode image {name}: {_reason(exc)}") from exc


def _decode_with_torchvision(data: bytes, name: str) -> torch.Tensor:
    try:
        return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED,
                            apply_exif_orientation=True)
    except (RuntimeError, ValueError) as exc:
        raise DataError(f"cannot decode image {name}: {_reason(exc)}") from exc


def _pillow_pixels(image, name: str) -> torch.Tensor:
    """A Pillow image as (C, H, W) uint8 (uint16 for 16-bit grey), rotated upright, palettes as RGB(A)."""
    from PIL import ImageOps

    image.load()
    if image.getexif().get(0x0112, 1) != 1:  # EXIF orientation
        image = ImageOps.exif_transpose(image)
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    elif image.mode in _TO_PIL_MODE:
        image = image.convert(_TO_PIL_MODE[image.mode])
    array = np.asarray(image)
    if image.mode.startswith("I"):
        array = array.clip(0, 65535).astype(np.uint16)
    if array.dtype not in (np.uint8, np.uint16) or array.ndim not in (2, 3):
        raise DataError(f"cannot decode image {name}: unsupported {array.dtype} image of shape {array.shape}")
    return _to_chw(array)


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


def displayable(image: torch.Tensor) -> torch.Tensor:
    """An image (C, H, W) as 3 channels for viewing: its first three, or its first one as grey."""
    return image[:3] if image.shape[0] >= 3 else match_channels(image[:1], 3)


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
