"""The authors' PyTorch port's state-dict layout for the U-Net, and exact conversion to and from i2i's.

The port nests one block per level: level 0 is ``model.model.``, level 1 appends ``1.model.``, each
deeper level ``3.model.``. Inside a block: outermost 0 = down conv, 3 = final up conv (with bias);
intermediate 1 = down conv, 2 = down norm, 3 = the next block, 5 = up conv, 6 = up norm; innermost
1 = down conv, 3 = up conv, 4 = up norm. (The PatchGAN discriminators already use the port's layout.)
Conversions are exact: every key is renamed, and an unknown, missing or misshapen key is a ConfigError.
"""

from __future__ import annotations

from typing import Mapping

import torch

from i2i.errors import ConfigError

# (down parts, up parts) of each kind of port block: i2i part name -> index inside the block
_OUTERMOST = ({"conv": "0"}, {"conv": "3"})
_INTERMEDIATE = ({"conv": "1", "norm": "2"}, {"conv": "5", "norm": "6"})
_INNERMOST = ({"conv": "1"}, {"conv": "3", "norm": "4"})


def unet_module_names(num_downs: int) -> dict[str, str]:
    """i2i module path -> port module path, for every module of a U-Net that can hold tensors."""
    names = {}
    for level in range(num_downs):
        prefix = "model.model." + "1.model." * (level > 0) + "3.model." * max(level - 1, 0)
        down, up = _OUTERMOST if level == 0 else _INNERMOST if level == num_downs - 1 else _INTERMEDIATE
        names.update({f"encoder.{level}.{part}": prefix + index for part, index in down.items()})
        names.update({f"decoder.{num_downs - 1 - level}.{part}": prefix + index for part, index in up.items()})
    return names


def unet_config(port_state: Mapping[str, torch.Tensor]) -> dict:
    """Constructor arguments (channels, ngf, depth, norm) of the U-Net a port state dict describes."""
    first, last = port_state.get("model.model.0.weight"), port_state.get("model.model.3.weight")
    if first is None or last is None:
        raise ConfigError("not a pix2pix PyTorch port U-Net state dict: "
                          "model.model.0.weight or model.model.3.weight is missing")
    return {
        "in_channels": first.shape[1],
        "out_channels": last.shape[1],
        "ngf": first.shape[0],
        "num_downs": 2 + max(key.count("3.model.") for key in port_state),
        "norm": "batch" if any(key.endswith(".running_mean") for key in port_state) else "instance",
    }


def unet_from_port(port_state: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]) -> dict:
    """``port_state`` renamed to i2i's layout; it must match ``reference`` (the target's state dict) exactly."""
    levels = sum(key.endswith(".conv.weight") and key.startswith("encoder.") for key in reference)
    to_i2i = {port: ours for ours, port in unet_module_names(levels).items()}
    return _rename(port_state, to_i2i, reference, "port")


def unet_to_port(state: Mapping[str, torch.Tensor]) -> dict:
    """An i2i U-Net state dict renamed to the port's layout."""
    levels = sum(key.endswith(".conv.weight") and key.startswith("encoder.") for key in state)
    return _rename(state, unet_module_names(levels), None, "i2i")


def _rename(state: Mapping[str, torch.Tensor], names: dict[str, str],
            reference: Mapping[str, torch.Tensor] | None, layout: str) -> dict:
    """Rename the module part of every key with ``names``; check the result against ``reference``.

    Problems are reported with the keys as the caller wrote them (``layout``'s names).
    """
    source = {_rename_key(key, names): key for key in state}
    renamed = {new: state[old] for new, old in source.items()}
    problems = {"unknown keys": [key for key in state if key.rpartition(".")[0] not in names]}
    if reference is not None:
        back = {new: old for old, new in names.items()}
        problems["missing keys"] = [_rename_key(key, back) for key in reference if key not in renamed]
        problems["keys the network does not have"] = [
            source[key] for key in renamed if key not in reference and source[key] not in problems["unknown keys"]]
        problems["wrong shapes"] = [
            f"{source[key]} {tuple(value.shape)} (expected {tuple(reference[key].shape)})"
            for key, value in renamed.items() if key in reference and value.shape != reference[key].shape]
    found = [f"{what}: {_few(keys)}" for what, keys in problems.items() if keys]
    if found:
        raise ConfigError(f"{layout} U-Net state dict does not match the network: " + "; ".join(found))
    return renamed


def _rename_key(key: str, names: dict[str, str]) -> str:
    module, _, tensor = key.rpartition(".")
    return f"{names.get(module, module)}.{tensor}"


def _few(keys: list[str], shown: int = 3) -> str:
    more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more
