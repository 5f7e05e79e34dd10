"""The authors' PyTorch port's state-dict layouts: the U-Net's (converted to and from i2i's) and the ResNet's.

The port nests one block per level: level 0 is ``model.model.``, level 1 appends ``1.model.``, each
deeper level ``3.model.``. Inside a block: outermost 0 = down conv, 3 = final up conv (with bias);
intermediate 1 = down conv, 2 = down norm, 3 = the next block, 5 = up conv, 6 = up norm; innermost
1 = down conv, 3 = up conv, 4 = up norm. (The PatchGAN discriminators and the ResNet generators use the
port's layout themselves: ``model.N.*``, residual blocks ``model.N.conv_block.M.*``; for them the keys are only
checked and the constructor arguments read from the tensors. The port's PixelDiscriminator keeps its layers in
``net``: only that prefix is renamed.) Conversions are exact: every key is renamed,
and an unknown, missing or misshapen key is a ConfigError.
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
    return _rename(port_state, to_i2i, reference, "port U-Net")


def unet_to_port(state: Mapping[str, torch.Tensor]) -> dict:
    """An i2i U-Net state dict renamed to the port's layout."""
    levels = sum(key.endswith(".conv.weight") and key.startswith("encoder.") for key in state)
    return _rename(state, unet_module_names(levels), None, "i2i U-Net")


def resnet_config(port_state: Mapping[str, torch.Tensor]) -> dict:
    """Constructor arguments (channels, ngf, blocks, norm, dropout, padding) of the port ResNet generator
    that a state dict describes."""
    first = port_state.get("model.1.weight")
    convs = sorted((int(key.split(".")[1]), tensor) for key, tensor in port_state.items()
                   if key.count(".") == 2 and key.endswith(".weight") and tensor.dim() == 4)
    blocks = {key.split(".")[1] for key in port_state if ".conv_block." in key}
    if first is None or first.dim() != 4 or first.shape[-1] != 7 or convs[-1][1].shape[-1] != 7:
        raise ConfigError("not a pix2pix PyTorch port ResNet generator state dict: "
                          "model.1.weight or the last 7x7 conv is missing")
    zero_padding = any(".conv_block.0.weight" in key for key in port_state)
    second_conv = 4 if zero_padding else 6  # index of the block's second conv when it has dropout
    return {
        "in_channels": first.shape[1],
        "out_channels": convs[-1][1].shape[0],
        "ngf": first.shape[0],
        "n_blocks": len(blocks),
        "norm": ("batch" if any(key.endswith(".running_mean") for key in port_state)
                 else "instance" if "model.1.bias" in port_state else "none"),
        "dropout": 0.5 if any(f".conv_block.{second_conv}.weight" in key for key in port_state) else 0.0,
        "padding": "zero" if zero_padding else "reflect",
    }


def same_layout(port_state: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor], network: str) -> dict:
    """``port_state`` checked against ``reference``: the state dict of a network that has the port's keys."""
    modules = {key.rpartition(".")[0] for key in reference}
    return _rename(port_state, {module: module for module in modules}, reference, f"port {network}")


def _rename(state: Mapping[str, torch.Tensor], names: dict[str, str],
            reference: Mapping[str, torch.Tensor] | None, layout: str) -> dict:
    """Rename the module part of every key with ``names``; check the result against ``reference``.

    Problems are reported with the keys as the caller wrote them (``layout`` names their network and layout).
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
        raise ConfigError(f"{layout} state dict does not match the network: " + "; ".join(found))
    return renamed


def _rename_key(key: str, names: dict[str, str]) -> str:
    module, _, tensor = key.rpartition(".")
    return f"{names.get(module, module)}.{tensor}"


def _few(keys: list[str], shown: int = 3) -> str:
    more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more
