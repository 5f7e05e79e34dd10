"""Reading PyTorch ``.pth`` state dicts safely: ``torch.load(weights_only=True)``, tensors only, never code."""

from __future__ import annotations

import pickle  # only for UnpicklingError: torch raises it when weights_only refuses a file
from pathlib import Path

from i2i.core.errors import DataError


def load_pth_state(path: Path, origin: str) -> dict:
    """A ``.pth`` state dict read with ``weights_only=True``: anything but tensors is refused, never run.
    ``origin`` names the file in errors (a path or the URL it came from)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = str(exc.__context__ or "not a plain state dict").splitlines()[0].split(" was not ")[0]
        raise DataError(f"refused {origin}: it holds pickled objects that are not tensors ({detail}); "
                        f"i2i reads .pth files with weights_only=True and never runs their code") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"{origin} is not a readable PyTorch checkpoint: {str(exc).splitlines()[0]}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{origin} is not a state dict of tensors (got a {type(state).__name__})")
    return state
