"""Training checkpoints: weights, optimiser, scaler and RNG state in one safetensors file, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors import safe_open

from i2i.core.atomic import save_safetensors
from i2i.core.errors import DataError
from i2i.models.weight_checks import check_finite

_META_KEY = "i2i"


def _flatten_optimizer(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], list]:
    tensors = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            tensors[f"{prefix}.state.{index}.{name}"] = torch.as_tensor(value).clone()
    return tensors, state["param_groups"]


def _unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], groups: list) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(f"{prefix}.state."):
            index, name = key[len(prefix) + 7 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups}


def _match_param_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout.

    Checkpoints store tensors contiguous; with channels_last parameters the restored moments would
    have other strides than the parameters, and the fused Adam kernel reads them as if they had the
    same: it silently mixes up elements (and resume is not exact). ``empty_like`` keeps the strides.
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def save_checkpoint(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    meta: dict[str, Any],
    scaler: torch.amp.GradScaler | None = None,
) -> Path:
    """Save module weights, optimiser states, the RNG state and ``meta`` (JSON) to one file, atomically
    (a failed write, e.g. on a full disk, raises OSError and keeps the previous file)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
    groups = {}
    for name, optimizer in optimizers.items():
        flat, groups[name] = _flatten_optimizer(name, optimizer.state_dict())
        tensors.update({k: v.cpu().contiguous() for k, v in flat.items()})
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    record = {"meta": meta, "param_groups": groups, "scaler": scaler.state_dict() if scaler else None}
    return save_safetensors(tensors, path, metadata={_META_KEY: json.dumps(record)})


def read_checkpoint_meta(path: Path) -> dict[str, Any]:
    """The JSON ``meta`` of a checkpoint without loading its tensors."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()[_META_KEY])["meta"]


def load_checkpoint(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into existing modules and optimisers; return ``meta``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no checkpoint at {path}")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            record = json.loads(handle.metadata()[_META_KEY])
    except Exception as exc:
        raise DataError(f"checkpoint {path} is unreadable: {exc}") from exc
    check_finite(tensors, path)
    for name, module in modules.items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(_unflatten_optimizer(name, tensors, record["param_groups"][name]))
        _match_param_layouts(optimizer)
    if scaler is not None and record.get("scaler"):
        scaler.load_state_dict(record["scaler"])
    torch.set_rng_state(tensors["rng.torch"])
    cuda_keys = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    cuda_states = [tensors[k] for k in cuda_keys]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    return record["meta"]
