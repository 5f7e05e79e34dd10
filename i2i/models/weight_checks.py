"""Checks on weights read from files: shapes that fit a network (from the header, before anything is
built or loaded) and values that are all finite."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from i2i.core.errors import DataError


def header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape in a safetensors file, read from its header alone."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except (OSError, SafetensorError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def _describe_keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return f"{len(keys)} ({shown})"


def check_fits(found: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]], what: str,
               origin: Path | str) -> None:
    """Refuse weights whose keys or shapes differ from the network's (``what`` names it), in one line."""
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    mismatched = [f"{key} {found[key]} (expected {expected[key]})"
                  for key in expected if key in found and tuple(found[key]) != tuple(expected[key])]
    problems = [f"{label} keys: {_describe_keys(keys)}"
                for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong-shape", mismatched))
                if keys]
    if problems:
        raise DataError(f"{origin} does not fit {what}: {'; '.join(problems)}")


def check_finite(tensors: Mapping[str, torch.Tensor], origin: Path | str) -> None:
    """Refuse weights holding NaN or infinite values, naming the first such tensor.

    A tensor's sum is non-finite when any value is (20x faster than ``isfinite().all()`` here); only then
    is each value checked, since a sum of large finite values can also overflow.
    """
    for key, value in tensors.items():
        if (value.is_floating_point() and not bool(torch.isfinite(value.sum()))
                and not bool(torch.isfinite(value).all())):
            raise DataError(f"refusing {origin}: tensor {key!r} holds NaN or infinite values (training diverged, "
                            f"or the file is corrupt)")
