"""A run's checkpoints as models: ``RUN --checkpoint best|latest|epoch_N`` wherever a command takes MODEL.

``RUN/model/`` is the generator as training last left it (the final one once the run is done), as the
paper uses it. A checkpoint is turned into a model dir in a temporary folder (removed when the process
exits) from the generator weights in the checkpoint and the run's config.json.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from i2i.core.errors import ConfigError, DataError
from i2i.training.config import TrainConfig
from i2i.training.rundir import RunDir

_EPOCH = re.compile(r"epoch_?0*(\d+)")


def run_model_config(config: TrainConfig, epochs: int) -> dict[str, Any]:
    """The model dir ``config.json`` of a run's generator after ``epochs`` epochs."""
    from i2i.core.plugin_manager import get_registry
    from i2i.models.modeldir import model_config

    c = config
    task = get_registry().resolve("tasks", c.task)
    return model_config(
        c.generator, c.generator_args, in_channels=c.in_channels, out_channels=c.out_channels,
        load_size=c.load_size, crop_size=c.crop_size, task=c.task, direction=c.direction,
        inference_mode=c.inference_mode, dataset=c.data or c.task, epochs=epochs, preprocess=c.preprocess,
        inference_mode_reason=c.inference_mode_reason, train_batch_size=c.batch_size,
        compose=getattr(task, "compose", None) is not None)


def checkpoint_file_name(name: str) -> str:
    """``best``, ``latest``; ``epoch_5``, ``epoch_0005`` and ``epoch5`` all name ``epoch_0005``."""
    match = _EPOCH.fullmatch(name)
    return f"epoch_{int(match[1]):04d}" if match else name


def available_checkpoints(run: RunDir) -> list[str]:
    """The checkpoint names a run holds: latest and best first, then epochs in order."""
    names = sorted(path.stem for path in run.checkpoints.glob("*.safetensors")) if run.checkpoints.is_dir() else []
    return sorted(names, key=lambda n: (n != "latest", n != "best", n))


def checkpoint_path(model: str | Path, name: str) -> tuple[RunDir, Path]:
    """The run and the checkpoint file that ``--checkpoint name`` picks; a clear error listing what exists."""
    run = RunDir(model)
    if not run.config_path.is_file() or (run.path / "model.safetensors").is_file():
        raise ConfigError(f"--checkpoint needs a run dir (with config.json and checkpoints/); {model} is not one")
    path = run.checkpoint(checkpoint_file_name(name))
    if not path.is_file():
        found = available_checkpoints(run)
        hint = " (a run keeps best only when trained with --best-metric)" if name == "best" else ""
        raise DataError(f"{run.path} has no checkpoint {name!r}{hint}; it has: "
                        f"{', '.join(found) if found else 'none yet'}")
    return run, path


def checkpoint_report_dir(default: Path, checkpoint: str | None) -> Path:
    """A test/eval report folder for a checkpoint: ``RUN/test-<split>-<checkpoint>`` beside model/'s."""
    return default if checkpoint is None else default.with_name(f"{default.name}-{checkpoint_file_name(checkpoint)}")


def checkpoint_model(model: str | Path, checkpoint: str) -> Path:
    """A temporary model dir holding the generator of the run dir ``model``'s ``checkpoint``."""
    from safetensors import SafetensorError, safe_open

    from i2i.models.modelcard import SAMPLE, write_model_card
    from i2i.models.modeldir import save_model_dir
    from i2i.training.checkpoint import read_checkpoint_meta

    run, path = checkpoint_path(model, checkpoint)
    try:
        with safe_open(str(path), framework="pt") as handle:
            state = {key.removeprefix("generator."): handle.get_tensor(key)
                     for key in handle.keys() if key.startswith("generator.")}
        epoch = read_checkpoint_meta(path)["epoch"]
    except (OSError, SafetensorError, KeyError, ValueError) as exc:
        raise DataError(f"checkpoint {path} is unreadable: {exc}") from exc
    folder = Path(tempfile.mkdtemp(prefix=f"i2i-{path.stem}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    save_model_dir(folder, state, run_model_config(TrainConfig.from_dict(run.read_config()), epoch))
    if run.sample(epoch).is_file():
        shutil.copyfile(run.sample(epoch), folder / SAMPLE)
    return write_model_card(folder)
