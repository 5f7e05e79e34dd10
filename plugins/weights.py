"""Reading user-supplied network weights: ``.safetensors``, or ``.pth`` state dicts with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import torch

from i2i.errors import ConfigError


def load_weights(path: Path | str) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a ``.pth`` read with ``weights_only=True`` (never unpickles code)."""
    from i2i.pth import load_pth_state

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return load_pth_state(path, str(path))


def first_detail(exc: Exception) -> str:
    """The first informative line of a torch error (load_state_dict's second line names the keys)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__
