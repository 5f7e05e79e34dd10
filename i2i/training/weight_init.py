"""The PyTorch port's weight initialisations (its ``init_type`` / ``init_gain``), for any network."""

from __future__ import annotations

from torch import nn

from i2i.core.errors import ConfigError

INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")
DEFAULT_GAIN = 0.02


def check_init(init_type: str | None, gain: float) -> None:
    """``init_type`` None keeps the networks' own init, where a gain other than the default means nothing."""
    if init_type is not None and init_type not in INIT_TYPES:
        raise ConfigError(f"unknown --init-type {init_type!r}; use one of {', '.join(INIT_TYPES)}")
    if gain < 0:
        raise ConfigError("--init-gain must be >= 0")
    if init_type is None and gain != DEFAULT_GAIN:
        raise ConfigError("--init-gain applies to an --init-type; give one (the port's default is normal)")


def init_weights(net: nn.Module, init_type: str, gain: float = DEFAULT_GAIN) -> nn.Module:
    """Re-initialise ``net`` in place as the port's ``init_weights`` does.

    Conv (incl. transposed) and Linear weights: ``normal`` N(0, gain), ``xavier`` Xavier-normal with gain,
    ``kaiming`` Kaiming-normal (fan_in, a=0; gain unused, as in the port), ``orthogonal`` with gain; their
    biases 0. Batch-norm scales N(1, gain), shifts 0.
    """
    check_init(init_type, gain)
    for module in net.modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            if init_type == "normal":
                nn.init.normal_(module.weight, 0.0, gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(module.weight, gain=gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(module.weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net
