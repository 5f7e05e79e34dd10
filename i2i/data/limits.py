"""Size limits on untrusted input, each with a generous default that an environment variable raises."""

from __future__ import annotations

import os

from i2i.core.errors import ConfigError


def read_limit(env: str, default: float) -> float:
    """``$env`` as a positive number (``1_000_000`` and ``1e9`` are accepted), else ``default``."""
    value = os.environ.get(env, "").strip()
    if not value:
        return default
    try:
        limit = float(value.replace("_", ""))
    except ValueError:
        limit = 0.0
    if not limit > 0:
        raise ConfigError(f"{env} must be a positive number, got {value!r}")
    return limit
