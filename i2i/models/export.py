"""Export a model's generator to ONNX or TorchScript, with a dynamic batch, height and width, and check parity.

The exported graph takes images of any height and width: it pads them to the generator's size multiple
and crops the output back inside the graph (:class:`i2i.models.any_size.AnySizeGenerator`: reflect padding, as
``i2i translate`` pads), so its outputs equal ``i2i translate --mode eval``'s.

Exports run the generator in eval mode (running statistics, no dropout), which is deterministic. The
paper's test-time mode samples dropout at random, which an exported graph cannot reproduce, so it is not
exported; exporting a model trained at batch size 1 with batch norm, whose fitting mode is paper, prints
one warning line (:mod:`i2i.models.inference_mode`). The model's ``config.json`` (with ``inference_mode: eval``) is embedded: in the ONNX metadata
under ``i2i_config``, in the TorchScript archive as the extra file ``i2i_config.json``.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from i2i.core.atomic import atomic_path
from i2i.core.components import set_inference_mode
from i2i.core.errors import ConfigError, DataError, I2IError
from i2i.models.any_size import AnySizeGenerator
from i2i.models.inference_mode import has_batch_norm, mismatch_warning
from i2i.models.modeldir import load_generator
from i2i.models.resolver import resolve_model
from i2i.models.tiling import pad_to_multiple

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
METADATA_KEY = "i2i_config"
PARITY_LIMIT = 1e-3
_EXPORT_EXTRA = "pip install 'i2i-pix2pix[export]'"


@dataclass(frozen=True)
class ExportResult:
    path: Path  # absolute
    size_multiple: int  # what the graph pads inputs to
    max_abs_diff: float | None  # None when the parity check was skipped
    shapes: tuple[tuple[int, ...], ...]


def default_output(model: str, fmt: str, checkpoint: str | None = None) -> Path:
    """``<name>.onnx`` / ``<name>.pt`` in the working folder, named after the run, model dir or Hub repo
    (``<name>-<checkpoint>.onnx`` for a run's checkpoint)."""
    path = Path(model).resolve() if Path(model).exists() else Path(model.split("@")[0])
    name = path.parent.name if path.name == "model" else path.name
    return Path(name + (f"-{checkpoint}" if checkpoint else "") + FORMATS[fmt])


def _save_onnx(generator: nn.Module, path: Path, config: dict[str, Any], multiple: int) -> None:
    # Example sizes of 2 (not 1) keep torch.export from specialising the dynamic dimensions.
    example = torch.zeros(2, config["in_channels"], 2 * multiple, 2 * multiple)
    shapes = ({0: torch.export.Dim("batch", min=1), 2: torch.export.Dim("rows", min=1),
               3: torch.export.Dim("cols", min=1)},)
    try:
        program = torch.onnx.export(AnySizeGenerator(generator, multiple), (example,),
                                    input_names=["input"], output_names=["output"],
                                    dynamic_shapes=shapes, dynamo=True, verbose=False)
    except ImportError as exc:
        raise ConfigError(f"ONNX export needs onnx and onnxscript: {_EXPORT_EXTRA} ({exc})") from exc
    program.model.metadata_props[METADATA_KEY] = json.dumps(config)
    program.save(path, external_data=False)


def _save_torchscript(generator: nn.Module, path: Path, config: dict[str, Any], multiple: int) -> None:
    example = torch.zeros(1, config["in_channels"], multiple, multiple)
    with warnings.catch_warnings():  # TorchScript is deprecated upstream; tracing freezes the size check (fine here)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(generator, example, check_trace=False)
        # The traced network only ever sees padded sizes; the scripted wrapper's shape arithmetic stays dynamic.
        scripted = torch.jit.script(AnySizeGenerator(traced, multiple))
        torch.jit.save(scripted, str(path), _extra_files={f"{METADATA_KEY}.json": json.dumps(config)})


def _onnx_runner(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"the ONNX parity check needs onnxruntime: {_EXPORT_EXTRA}, or pass --no-check") from exc
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def _torchscript_runner(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path), map_location="cpu")
    return module


_SAVERS = {"onnx": _save_onnx, "torchscript": _save_torchscript}
_RUNNERS = {"onnx": _onnx_runner, "torchscript": _torchscript_runner}


def padded_forward(generator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``generator`` on ``x`` of any size as the translator runs it: padded to its size multiple, cropped back."""
    height, width = x.shape[-2:]
    padded, (top, left) = pad_to_multiple(x, getattr(generator, "size_multiple", 1))
    return generator(padded)[..., top:top + height, left:left + width]


def parity(run: Callable[[torch.Tensor], torch.Tensor], generator: nn.Module,
           shapes: tuple[tuple[int, ...], ...], seed: int = 0) -> float:
    """The largest absolute difference between ``run`` and the padded ``generator`` on random inputs of ``shapes``."""
    rng = torch.Generator().manual_seed(seed)
    worst = 0.0
    with torch.no_grad():
        for shape in shapes:
            x = torch.rand(shape, generator=rng) * 2 - 1
            worst = max(worst, (run(x) - padded_forward(generator, x)).abs().max().item())
    return worst


def export_model(model: str | Path, fmt: str, out: Path | str | None = None, *, check: bool = True,
                 checkpoint: str | None = None) -> ExportResult:
    """Export MODEL's generator in eval mode to ``out``; check it against PyTorch at two input sizes, one of them
    not a multiple of the generator's size multiple. ``checkpoint``: a run dir's checkpoint instead of model/."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    generator, config = load_generator(resolve_model(model, checkpoint))
    warning = mismatch_warning("eval", config.get("train_batch_size"), has_batch_norm(generator))
    if warning:  # the export is eval mode; a model that trained at batch size 1 expects paper mode
        print(warning.replace("--mode eval", "the export's eval mode"), file=sys.stderr, flush=True)
    generator = set_inference_mode(generator, "eval")
    config = {**config, "inference_mode": "eval"}
    multiple = getattr(generator, "size_multiple", 1)
    out = (Path(out) if out is not None else default_output(str(model), fmt, checkpoint)).absolute()
    try:
        with atomic_path(out) as tmp:
            _SAVERS[fmt](generator, tmp, config, multiple)
    except I2IError:
        raise
    except OSError as exc:
        raise DataError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the exporters raise many kinds; the user needs the first line
        raise DataError(f"cannot export generator {config['generator']['name']!r} to {fmt}: "
                        f"{str(exc).strip().splitlines()[0]}") from exc
    if not check:
        return ExportResult(out, multiple, None, ())
    channels = config["in_channels"]
    shapes = ((1, channels, multiple, 2 * multiple), (2, channels, multiple + 3, 2 * multiple + 5))
    worst = parity(_RUNNERS[fmt](out), generator, shapes)
    if worst > PARITY_LIMIT:
        raise DataError(f"{out} differs from PyTorch by up to {worst:.3g} (more than {PARITY_LIMIT:g})")
    return ExportResult(out, multiple, worst, shapes)
