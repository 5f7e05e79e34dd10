"""The model dir: ``model.safetensors`` (generator weights) + ``config.json`` (how to rebuild and use it),
and usually ``README.md``, its model card (:mod:`i2i.models.modelcard`), with ``samples.png``.

This module reads, writes and validates the format, locally: a run dir (``RUN/model/config.json``) is
accepted wherever a model dir is; Hub ids and registered sources are resolved by :mod:`i2i.models.resolver`.
``config.json``::

    {"format": "i2i-model", "format_version": 1, "task": str | null,
     "generator": {"name": str, "args": {...}}, "in_channels": int, "out_channels": int,
     "normalization": "[-1,1]", "direction": "AtoB" | "BtoA",
     "train_size": {"load_size": int, "crop_size": int[, "preprocess": str]}, "inference_mode": "paper" | "eval",
     "provenance": {"i2i_version": str, "plugins": {dist: version}, "dataset": str | null, "epochs": int | null},
     "inference_mode_reason": str, "train_batch_size": int, "compose": bool}

The last three keys and ``train_size.preprocess`` are optional (model dirs written before them load as they
are): why
``inference_mode`` fits the training (:mod:`i2i.models.inference_mode`), the training batch size, and whether
outputs go through the task's ``compose`` step (:mod:`i2i.models.compose`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from i2i import __version__
from i2i.core.atomic import atomic_write_text, save_safetensors
from i2i.core.errors import ConfigError, DataError, UnknownComponentError
from i2i.core.task import PREPROCESS_MODES

if TYPE_CHECKING:
    from torch import nn

FORMAT = "i2i-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"

# Every key of config.json: allowed types, or a nested object's own schema. All keys are required.
_SCHEMA: dict[str, Any] = {
    "format": str,
    "format_version": int,
    "task": (str, type(None)),
    "generator": {"name": str, "args": dict},
    "in_channels": int,
    "out_channels": int,
    "normalization": str,
    "direction": str,
    "train_size": {"load_size": int, "crop_size": int},
    "inference_mode": str,
    "provenance": {"i2i_version": str, "plugins": dict, "dataset": (str, type(None)), "epochs": (int, type(None))},
}
# Keys that may be absent: model dirs written before they existed still load.
_OPTIONAL: dict[str, Any] = {"inference_mode_reason": str, "train_batch_size": int, "compose": bool}
_OPTIONAL_NESTED: dict[str, dict[str, Any]] = {"train_size": {"preprocess": str}}  # written when not the default
_CHOICES = {
    "normalization": ("[-1,1]",),
    "direction": ("AtoB", "BtoA"),
    "inference_mode": ("paper", "eval"),
}


def model_config(
    generator: str,
    generator_args: dict[str, Any],
    *,
    in_channels: int,
    out_channels: int,
    load_size: int,
    crop_size: int,
    task: str | None = None,
    direction: str = "AtoB",
    inference_mode: str = "paper",
    dataset: str | None = None,
    epochs: int | None = None,
    inference_mode_reason: str | None = None,
    train_batch_size: int | None = None,
    compose: bool = False,
    preprocess: str = "resize_and_crop",
) -> dict[str, Any]:
    """A complete, validated ``config.json`` for a generator registered as ``generator``; the optional keys
    are written when given (``compose`` when true)."""
    from i2i.core.plugin_manager import plugin_versions

    return validate_config({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": task,
        "generator": {"name": generator, "args": dict(generator_args)},
        "in_channels": in_channels,
        "out_channels": out_channels,
        "normalization": "[-1,1]",
        "direction": direction,
        "train_size": {"load_size": load_size, "crop_size": crop_size,
                       **({"preprocess": preprocess} if preprocess != "resize_and_crop" else {})},
        "inference_mode": inference_mode,
        "provenance": {"i2i_version": __version__, "plugins": plugin_versions(), "dataset": dataset, "epochs": epochs},
        **({"inference_mode_reason": inference_mode_reason} if inference_mode_reason else {}),
        **({"train_batch_size": train_batch_size} if train_batch_size is not None else {}),
        **({"compose": True} if compose else {}),
    })


def train_preprocess(config: dict[str, Any]) -> str:
    """The --preprocess mode the model was trained with (configs without one: the paper's resize_and_crop)."""
    return config["train_size"].get("preprocess", "resize_and_crop")


def _type_names(types: tuple) -> str:
    return " or ".join("null" if t is type(None) else {dict: "object", str: "string"}.get(t, t.__name__) for t in types)


def _check(value: dict, schema: dict[str, Any], where: str, origin: str,
           optional: dict[str, Any] | None = None) -> None:
    optional = optional or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{origin}: {where or 'the config'} must be an object")
    known = {**schema, **optional}
    for key in value:
        if key not in known:
            raise ConfigError(f"{origin}: unknown key {where + key!r} (known: {', '.join(known)})")
    for key, spec in known.items():
        name = f"{where}{key}"
        if key not in value:
            if key in optional:
                continue
            raise ConfigError(f"{origin}: missing key {name!r}")
        item = value[key]
        if isinstance(spec, dict):
            _check(item, spec, f"{name}.", origin, _OPTIONAL_NESTED.get(name))
            continue
        types = spec if isinstance(spec, tuple) else (spec,)
        if not isinstance(item, types) or (isinstance(item, bool) and bool not in types):
            raise ConfigError(f"{origin}: key {name!r} must be {_type_names(types)}, got {item!r}")


def validate_config(config: Any, origin: str = "model config") -> dict[str, Any]:
    """Check every key's presence, type and allowed values; return ``config`` unchanged."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ConfigError(f"{origin} is not an i2i model config (it lacks \"format\": \"{FORMAT}\"); "
                          f"a run dir holds its model in model/ once training has exported it")
    if isinstance(config.get("format_version"), int):
        if config["format_version"] > FORMAT_VERSION:
            raise ConfigError(
                f"{origin} has format version {config['format_version']}, newer than this i2i reads "
                f"({FORMAT_VERSION}); upgrade i2i"
            )
    _check(config, _SCHEMA, "", origin, _OPTIONAL)
    for key, allowed in _CHOICES.items():
        if config[key] not in allowed:
            raise ConfigError(f"{origin}: key {key!r} is {config[key]!r}; expected {' or '.join(map(repr, allowed))}")
    if config.get("train_batch_size", 1) < 1:
        raise ConfigError(f"{origin}: train_batch_size must be at least 1, got {config['train_batch_size']}")
    if train_preprocess(config) not in PREPROCESS_MODES:
        raise ConfigError(f"{origin}: key 'train_size.preprocess' is {train_preprocess(config)!r}; expected one of "
                          f"{', '.join(PREPROCESS_MODES)}")
    if config["format_version"] < 1:
        raise ConfigError(f"{origin}: format_version must be at least 1, got {config['format_version']}")
    return config


def local_model_dir(path: Path | str) -> Path:
    """The model dir at ``path``: ``path`` itself, or a run dir's ``model/``. Only local folders: ids of Hub
    repos and registered model sources are the resolver's (:mod:`i2i.models.resolver`). Anything else is a clear error."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"model not found: {path} does not exist")
    if (path / "model" / CONFIG).is_file() and not (path / WEIGHTS).is_file():
        return path / "model"
    if (path / CONFIG).is_file():
        return path
    raise DataError(f"{path} is neither an i2i model dir ({CONFIG} + {WEIGHTS}) nor a run dir (model/{CONFIG})")


def save_model_dir(path: Path | str, generator_state_dict: dict, config: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` then ``config.json`` into ``path``, each replaced atomically."""
    path = Path(path)
    validate_config(config)
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in generator_state_dict.items()}
    save_safetensors(tensors, path / WEIGHTS, metadata={"format": "pt"})
    atomic_write_text(path / CONFIG, json.dumps(config, indent=2) + "\n")
    return path


def load_config(path: Path | str) -> dict[str, Any]:
    """The validated ``config.json`` of a model dir or run dir."""
    file = local_model_dir(path) / CONFIG
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"cannot read {file}: its JSON is nested too deeply to be a model config") from None
    return validate_config(config, origin=str(file))


def build_generator(config: dict[str, Any], *, meta: bool = False) -> nn.Module:
    """Instantiate the registered generator that ``config`` names, with its arguments (random weights).

    The arguments are first checked against the ranges the generator declares. ``meta``: build on the
    meta device (shapes only, no memory).
    """
    import contextlib

    import torch
    from torch import nn

    from i2i.core.components import check_arguments
    from i2i.core.plugin_manager import get_registry

    name, args = config["generator"]["name"], config["generator"]["args"]
    try:
        factory = get_registry().get("generators", name).resolve()
    except UnknownComponentError as exc:
        raise UnknownComponentError(
            f"no installed plugin registers generator {name!r}; install the plugin that provides it "
            f"(`i2i list generators` shows what is installed)"
        ) from exc
    check_arguments(factory, "generator", name,
                    {"in_channels": config["in_channels"], "out_channels": config["out_channels"], **args})
    try:
        with torch.device("meta") if meta else contextlib.nullcontext():
            generator = factory(in_channels=config["in_channels"], out_channels=config["out_channels"], **args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"generator {name!r} rejects the arguments {args}: {exc}") from exc
    if not isinstance(generator, nn.Module):
        raise ConfigError(f"generator {name!r} built a {type(generator).__name__}, not a torch nn.Module")
    for key in ("in_channels", "out_channels"):
        built = getattr(generator, key, config[key])
        if built != config[key]:
            raise ConfigError(f"generator {name!r} has {key}={built} but the config says {config[key]}")
    return generator


def load_generator(path: Path | str) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model dir's (or run dir's) generator and load its weights strictly: ``(module, config)``.

    The weights' keys and shapes are checked against the generator from the file's header before the
    generator is built for real, and every tensor must be finite.
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from i2i.models.weight_checks import check_finite, check_fits, header_shapes

    folder = local_model_dir(path)
    config = load_config(folder)
    try:
        generator = build_generator(config, meta=True)
    except ConfigError as exc:
        raise ConfigError(f"{folder / CONFIG}: {exc}") from None
    except (RuntimeError, NotImplementedError):  # a plugin network that cannot be built without memory
        generator = build_generator(config)
    expected = {key: tuple(value.shape) for key, value in generator.state_dict().items()}
    check_fits(header_shapes(folder / WEIGHTS), expected,
               f"generator {config['generator']['name']!r} {config['generator']['args']}", folder / WEIGHTS)
    if next(generator.parameters(), torch.empty(0)).is_meta:
        generator = build_generator(config)
    try:
        weights = load_file(str(folder / WEIGHTS))
    except (OSError, SafetensorError) as exc:
        raise DataError(f"cannot read {folder / WEIGHTS}: {exc}") from exc
    check_finite(weights, folder / WEIGHTS)
    generator.load_state_dict(weights, strict=True)
    return generator, config
