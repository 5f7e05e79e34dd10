"""Training presets: recipes for situations the paper's recipes were not made for.

The paper's recipes assume thousands of images, 256-px crops, 200 epochs and a GPU. ``small`` is for a
few hundred photos (or crops of a few dozen) on a CPU: 64-px crops from 72-px images, batch 4 (so
models use eval-mode inference, :mod:`i2i.models.inference_mode`), half-width networks (ngf = ndf = 32) and
3 + 2 epochs. Measured on real photographs in bench/QUALITY.md: in a few CPU-minutes the models reproduce
photo colour distributions; per-pixel scores (PSNR/SSIM) above the trivial baselines need the adversarial
term dropped (``--loss l1`` or ``l2``) and more epochs. Options given on the command line override a preset's
fields.
"""

from __future__ import annotations

from typing import Any

from i2i.core.errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "small": {"load_size": 72, "crop_size": 64, "batch_size": 4, "epochs": 3, "epochs_decay": 2,
              "generator_args": {"ngf": 32}, "discriminator_args": {"ndf": 32}},
}


def apply_preset(name: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` on top of preset ``name``'s fields (None values and empty argument dicts do not override)."""
    if name is None:
        return overrides
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    merged = dict(PRESETS[name])
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif value is not None:
            merged[key] = value
    return merged
