"""A corpus of hostile and unlucky inputs, generated on demand (no binary files in git).

Images: a PNG whose image stream is short (libpng via torchvision segfaulted on it), a truncated PNG,
pixel bombs (a PNG and a BMP declaring huge sizes in a few bytes), a palette PNG, an EXIF-rotated
JPEG, an animated GIF, a 1x1 image. Archives: a gzip'd tar and a zip whose members are long runs of
zeros (bombs, scaled down: the tests lower the limit instead of filling a disk), and a GNU sparse tar.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, idat: bytes, colour_type: int = 2) -> bytes:
    """A PNG with this header and one IDAT chunk holding ``idat`` (valid CRCs, whatever the content)."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def short_idat_png() -> bytes:
    """68 bytes: a 64x64 RGB PNG whose compressed stream holds 10 bytes instead of 64 rows."""
    return png_bytes(64, 64, zlib.compress(b"\0" * 10))


def truncated_png() -> bytes:
    """A real 32x32 PNG cut in the middle of its image data."""
    good = encode(gradient(32, 32), "PNG")
    return good[: len(good) // 2]


def png_bomb(side: int = 30000) -> bytes:
    """A few KB of PNG declaring ``side`` x ``side`` pixels (only its first rows are stored)."""
    row = b"\0" * (1 + 3 * side)
    return png_bytes(side, side, zlib.compress(row * 4, 9))


def bmp_bomb(side: int = 40000) -> bytes:
    """A 1-bit BMP header declaring ``side`` x ``side`` pixels, followed by almost no data."""
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 1, 0, 0, 2835, 2835, 2, 0)
    palette = b"\0\0\0\0\xff\xff\xff\0"
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + 64, 0, 0, offset) + info + palette + b"\0" * 64


def gradient(width: int, height: int) -> np.ndarray:
    """An (H, W, 3) uint8 image whose pixels differ by position (orientation is visible)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1).astype(np.uint8)


def encode(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def palette_png(width: int = 16, height: int = 8) -> tuple[bytes, np.ndarray]:
    """A P-mode PNG and the RGB image a viewer shows for it."""
    image = Image.fromarray(gradient(width, height)).quantize(colors=16)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue(), np.asarray(image.convert("RGB"))


def exif_rotated_jpeg(width: int = 32, height: int = 16, orientation: int = 6) -> bytes:
    """A ``width`` x ``height`` JPEG whose EXIF says: rotate 90 degrees clockwise to view (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(gradient(width, height), "JPEG", quality=95, exif=exif.tobytes())


def animated_gif(frames: int = 3, side: int = 8) -> bytes:
    images = [Image.fromarray(np.full((side, side, 3), 60 * i, np.uint8)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=50)
    return buffer.getvalue()


def one_pixel_png() -> bytes:
    return encode(np.full((1, 1, 3), 200, np.uint8), "PNG")


BAD_IMAGES = {
    "short_idat.png": short_idat_png,
    "truncated.png": truncated_png,
    "bomb.png": png_bomb,
    "bomb.bmp": bmp_bomb,
    "animated.gif": animated_gif,
}


def write(folder: Path, name: str | bytes, data: bytes) -> Path:
    """Write ``data`` as ``folder/name``; a bytes name may be any (non-UTF-8) file name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder, name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name)
    path.write_bytes(data)
    return path


# Archives ---------------------------------------------------------------------------------------------

def _zeros(size: int):
    """A file-like of ``size`` zero bytes, streamed (never held in memory)."""

    class Zeros(io.RawIOBase):
        left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = b"\0" * n
            self.left -= n
            return n

    return io.BufferedReader(Zeros())


def tar_bomb(path: Path, member_size: int, members: int = 1) -> Path:
    """A tar.gz whose ``members`` files are ``member_size`` zero bytes each (about 1000:1)."""
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        for i in range(members):
            info = tarfile.TarInfo(f"set/train/{i}.jpg")
            info.size = member_size
            tar.addfile(info, _zeros(member_size))
    return path


def zip_bomb(path: Path, member_size: int, members: int = 1) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        for i in range(members):
            with zipped.open(f"set/train/{i}.jpg", "w", force_zip64=member_size > 2**31) as out:
                for start in range(0, member_size, 1 << 20):
                    out.write(b"\0" * min(1 << 20, member_size - start))
    return path


def sparse_tar(path: Path, apparent_size: int = 10 * 2**30) -> Path:
    """A GNU tar with one sparse member: a few bytes of data that would become an ``apparent_size`` file."""
    info = tarfile.TarInfo("set/train/1.jpg")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 512
    # A GNU sparse header: one map entry (offset, numbytes) and the real size, in octal fields.
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    entry = f"{apparent_size - 512:011o}\0".encode() + f"{512:011o}\0".encode()
    header[386:386 + 24] = entry
    header[483:483 + 12] = f"{apparent_size:011o}\0".encode()
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    with open(path, "wb") as out:
        out.write(bytes(header) + b"x" * 512 + b"\0" * 1024)
    return path
