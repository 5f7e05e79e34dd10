"""What the ``i2i`` commands and the Python API both do: train, resume, evaluate (and test), translate.

Each function takes resolved arguments (a :class:`~i2i.training.config.TrainConfig`, a model) and the registry
(default: the installed plugins'), prints progress to stderr unless ``quiet``, and returns what it made.
The CLI commands parse options, call one of these and print the outcome.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from i2i.accel.precision import PrecisionChoice
from i2i.core.errors import ConfigError
from i2i.data.datasets import PairDataset
from i2i.training import distributed
from i2i.training.config import TrainConfig
from i2i.training.objective import Objective
from i2i.training.run import TrainingRun, build_networks
from i2i.training.rundir import FollowerRunDir, RunDir

if TYPE_CHECKING:
    from i2i.eval.metric_set import MetricSet

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _registry(registry):
    from i2i.core.plugin_manager import get_registry

    return registry if registry is not None else get_registry()


def warn_if_slow(choice: PrecisionChoice, log: Log = _stderr) -> None:
    """Say so in one line when a :class:`~i2i.accel.precision.PrecisionChoice` will run slowly."""
    if choice.warning:
        log(f"Warning: {choice.warning}")


@dataclass(frozen=True)
class Hardware:
    """Where and how a session computes. It changes speed, not results: a resumed run may choose anew."""

    device: torch.device
    precision: PrecisionChoice
    cpu_gemm: bool
    cpu_gemm_reason: str
    channels_last: bool | None = None
    num_workers: int = 0

    @classmethod
    def choose(cls, device: str | torch.device = "auto", precision: str = "auto", cpu_gemm: bool | None = None,
               channels_last: bool | None = None, num_workers: int = 0) -> "Hardware":
        """``device`` (auto, cpu, cuda, cuda:N, mps), ``precision`` (auto, fp32, bf16, fp16) and ``cpu_gemm``
        (None: auto) resolved on this machine; ``channels_last`` None: each device's default."""
        from i2i.accel.cpu_conv import choose_cpu_gemm
        from i2i.accel.device import resolve_device
        from i2i.accel.precision import choose_precision

        if not isinstance(device, torch.device):
            device = resolve_device(device)
        gemm, reason = choose_cpu_gemm(cpu_gemm, device)
        return cls(device, choose_precision(precision, device), gemm, reason, channels_last, num_workers)

    def record(self) -> dict[str, Any]:
        """The choices as a run's config.json records them (its ``runtime``)."""
        return {"device": str(self.device), **self.precision.as_record(), "cpu_gemm": self.cpu_gemm,
                "cpu_gemm_reason": self.cpu_gemm_reason}


# --- training ---------------------------------------------------------------------------------------------

def new_config(task: str = "demo", *, preset: str | None = None, registry=None, **fields: Any) -> TrainConfig:
    """A new run's resolved config: ``task``'s paper recipe, then ``preset`` (``small``), then ``fields``
    (any :class:`~i2i.training.config.TrainConfig` field; None keeps the default). ``data`` is made absolute
    (the run resumes from any folder), ``val_metrics`` names are checked, and G's crop-derived arguments
    are filled in (:func:`resolve`)."""
    from i2i.training.presets import apply_preset

    registry = _registry(registry)
    task_spec = registry.resolve("tasks", task)
    if fields.get("data") is not None:
        fields["data"] = str(Path(fields["data"]).expanduser().resolve())
    if fields.get("val_metrics"):
        fields["val_metrics"] = [registry.get("metrics", name).name for name in fields["val_metrics"]]
    fields.setdefault("world_size", distributed.world().size)
    return resolve(TrainConfig.from_task(task_spec, **apply_preset(preset, fields)), registry)


def resolve(config: TrainConfig, registry=None) -> TrainConfig:
    """A copy of ``config`` with the generator's crop-derived arguments (e.g. the U-Net's depth) filled in
    under its own: the config a run records. ``config`` itself is left as it is."""
    from i2i.training.run import generator_args

    resolved = copy.deepcopy(config)
    resolved.generator_args = generator_args(config, _registry(registry))
    return resolved


def why_untrainable(config: TrainConfig, registry=None) -> str | None:
    """Why ``config``'s networks cannot train at its crop and batch size, or None: they are built and the
    discriminator run once on the meta device (no memory, no time). Arguments a network rejects raise
    :class:`~i2i.core.errors.ConfigError` as training would."""
    registry = _registry(registry)
    objective = Objective.build(config.loss, registry, config.lambda_l1)
    with torch.device("meta"):
        _, discriminator = build_networks(config, objective, registry)
        if discriminator is None:
            return None
        channels = config.out_channels + (config.in_channels if objective.adversarial.conditional else 0)
        try:
            discriminator(torch.empty(config.batch_size, channels, config.crop_size, config.crop_size))
        except (RuntimeError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[0]
            return (f"{config.discriminator} cannot judge {config.crop_size}-px crops at batch size "
                    f"{config.batch_size} ({detail}); use a larger --crop-size")
    return None


def train_data(config: TrainConfig, registry=None) -> tuple[PairDataset, PairDataset | None]:
    """``config``'s train split and its val split where the data has one (None on the processes of a
    distributed run other than the first: it validates alone). A task that synthesizes its data (the demo)
    generates it here, once."""
    from i2i.data.datasets import has_split
    from i2i.data.location import task_data_root

    task = _registry(registry).resolve("tasks", config.task)
    root = task_data_root(task, config.data)

    def split(name: str, train: bool) -> PairDataset:
        c = config
        return PairDataset(root, name, layout=task.layout, direction=c.direction, in_channels=c.in_channels,
                           out_channels=c.out_channels, load_size=c.load_size, crop_size=c.crop_size, flip=c.flip,
                           train=train, seed=c.seed, pair_maker=task.pair_maker, skip_bad_images=c.skip_bad_images,
                           max_items=c.max_train if train else None, preprocess=c.preprocess)

    has_val = has_split(root, "val", task.layout) and distributed.world().is_main
    return split("train", True), (split("val", False) if has_val else None)


def _session(config: TrainConfig, run: RunDir, registry, hardware: Hardware, quiet: bool,
             datasets: tuple[PairDataset, PairDataset | None] | None) -> TrainingRun:
    train_set, val_set = datasets or train_data(config, registry)
    return TrainingRun(config, run, registry=registry, train_set=train_set, val_set=val_set, device=hardware.device,
                       precision=hardware.precision.precision, quiet=quiet, num_workers=hardware.num_workers,
                       channels_last=hardware.channels_last, cpu_gemm=hardware.cpu_gemm)


def _run_dir(path: Path | str) -> RunDir:
    """The run dir as this process of a (possibly distributed) run writes it: only the first one writes."""
    return (RunDir if distributed.world().is_main else FollowerRunDir)(path)


@contextlib.contextmanager
def started(config: TrainConfig, out: Path | str | None = None, *, registry=None, hardware: Hardware | None = None,
            quiet: bool = False, datasets: tuple[PairDataset, PairDataset | None] | None = None,
            reuse: bool = False) -> Iterator[TrainingRun]:
    """A new run of ``config`` in ``out`` [runs/<task>-<date-time>], locked, its config written, ready to
    :func:`fit`. ``datasets``: (train, val) instead of :func:`train_data`'s. ``reuse``: a run already in
    ``out`` continues (a finished one stays as it is) instead of being refused."""
    registry = _registry(registry)
    hardware = hardware or Hardware.choose()
    run = _run_dir(out or distributed.from_main(RunDir.default_path(config.task)))
    session = _session(resolve(config, registry), run, registry, hardware, quiet or not distributed.world().is_main,
                       datasets)
    with run.lock():
        if reuse and run.has_checkpoint():
            session.resume()
        else:
            run.create()  # a run there that saved no checkpoint starts over
        session.write_config(hardware.record())
        yield session


@contextlib.contextmanager
def resumed(run_dir: Path | str, *, epochs: int | None = None, epochs_decay: int | None = None, registry=None,
            hardware: Hardware | None = None, quiet: bool = False, log: Log = _stderr) -> Iterator[TrainingRun]:
    """The run in ``run_dir`` at its latest checkpoint, locked, ready to :func:`fit`; ``epochs`` and
    ``epochs_decay`` extend (or shorten) its schedule. A run that saved no checkpoint starts from scratch."""
    registry = _registry(registry)
    hardware = hardware or Hardware.choose()
    world = distributed.world()
    run = _run_dir(run_dir)
    config = TrainConfig.from_dict(run.read_config())
    with run.lock():
        for name, value in (("epochs", epochs), ("epochs_decay", epochs_decay)):
            if value is not None:
                setattr(config, name, value)
        trained_with = (config.world_size, config.batch_size)
        config.regroup(world.size)
        config.validate()
        if trained_with[0] != world.size and world.is_main:
            log(f"i2i: this run trained with {trained_with[0]} process(es) x batch {trained_with[1]}; it "
                f"continues with {world.size} x {config.batch_size}: the same global batch of "
                f"{config.global_batch_size}, data order and schedule, other dropout masks"
                + ("" if config.sync_bn else ", batch norm over each process's batch"))
        session = _session(config, run, registry, hardware, quiet or not world.is_main, None)
        session.resume()
        if session.epoch >= config.total_epochs:
            raise ConfigError(f"{run.path} has trained all {session.epoch} epochs of its schedule; give --epochs "
                              f"plus --epochs-decay above {session.epoch} to train it further")
        session.write_config(hardware.record())
        yield session


def fit(session: TrainingRun, trackers: Iterable[str] = (), registry=None) -> Path:
    """Train ``session`` to the end of its schedule, also logging to the named experiment ``trackers`` (of
    ``registry`` [the installed plugins']); return its model dir. Ctrl-C saves a resumable checkpoint and raises :class:`~i2i.core.errors.Interrupted`."""
    from i2i.training.trackers import open_trackers

    if distributed.world().is_main:
        session.monitor.trackers = open_trackers(tuple(trackers), session.run.path, session.config.as_dict(), registry)
    try:
        return session.fit()
    finally:
        session.monitor.close()


def train(config: TrainConfig | str = "demo", out: Path | str | None = None, *, device: str = "auto",
          precision: str = "auto", cpu_gemm: bool | None = None, quiet: bool = False, trackers: Iterable[str] = (),
          registry=None, hardware: Hardware | None = None,
          datasets: tuple[PairDataset, PairDataset | None] | None = None, reuse: bool = False, **fields: Any) -> Path:
    """Train a generator (and discriminator) with the paper's objective and schedule; return the run dir.

    ``config`` is a :class:`~i2i.training.config.TrainConfig` or a task name whose config :func:`new_config`
    builds from ``fields`` (e.g. ``epochs=1, crop_size=64, generator_args={"ngf": 32}``). ``out``: the run
    dir [runs/<task>-<date-time>]. ``device``, ``precision`` and ``cpu_gemm`` are ``i2i train``'s options
    (or pass ``hardware`` chosen before); ``datasets`` and ``reuse`` are :func:`started`'s.
    """
    registry = _registry(registry)
    if isinstance(config, str):
        config = new_config(config, registry=registry, **fields)
    elif fields:
        raise ConfigError(f"give the fields {', '.join(sorted(fields))} with a task name, or set them in the config")
    hardware = hardware or _chosen(device, precision, cpu_gemm)
    with started(config, out, registry=registry, hardware=hardware, quiet=quiet, datasets=datasets,
                 reuse=reuse) as session:
        fit(session, trackers, registry)
        return session.run.path


def _chosen(device: str, precision: str, cpu_gemm: bool | None) -> Hardware:
    hardware = Hardware.choose(device, precision, cpu_gemm)
    warn_if_slow(hardware.precision)
    return hardware


def resume(run_dir: Path | str, *, epochs: int | None = None, epochs_decay: int | None = None, device: str = "auto",
           precision: str = "auto", cpu_gemm: bool | None = None, quiet: bool = False, trackers: Iterable[str] = (),
           registry=None) -> Path:
    """Continue the run in ``run_dir`` from its latest checkpoint (``epochs``/``epochs_decay`` may extend its
    schedule) to its end; return the run dir."""
    hardware = _chosen(device, precision, cpu_gemm)
    with resumed(run_dir, epochs=epochs, epochs_decay=epochs_decay, registry=registry, hardware=hardware,
                 quiet=quiet) as session:
        fit(session, trackers, registry)
        return session.run.path


# --- evaluation -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` scored and wrote: ``record`` is ``out/metrics.json``; ``data`` the split folder;
    ``metric_set`` the metrics with their values (:func:`i2i.eval.metric_set.draw_runs` plots several side by side)."""

    record: dict[str, Any]
    out: Path
    data: Path
    metric_set: MetricSet

    @property
    def metrics(self) -> dict[str, float]:
        return self.record["metrics"]

    @property
    def skipped(self) -> dict[str, str]:
        """Metrics that could not run, with the reason."""
        return self.record.get("skipped", {})


def evaluate(model: str | Path | None = None, *, task: str | None = None, data: str | Path | None = None,
             split: str | None = None, num_test: int | None = None, metrics: Iterable[str] | None = None,
             metric_args: dict[str, dict] | None = None, outputs: str | Path | None = None, size: int | None = None,
             out: str | Path | None = None, mode: str | None = None, device: str = "auto", precision: str = "auto",
             cpu_gemm: bool | None = None, seed: int = 0, checkpoint: str | None = None, quiet: bool = False,
             report: str = "eval", label: str | None = None, registry=None) -> Evaluation:
    """Translate a split of a task's data with ``model`` (or score existing ``outputs``) and score it.

    ``model`` is a model dir, a run dir (``checkpoint``: best, latest or epoch_N instead of its model/), a Hub
    id or a model source's id. ``task`` [the model's] says how the data is laid out and which metrics to use
    (``metrics``: see :func:`metric_names`; ``metric_args`` per metric); ``data`` [a run's own, else the
    task's cache]; ``split`` [test, else val]; ``size``: without a model, the size pairs are resized to [the
    outputs']. Writes metrics.json, summary.md, index.html and images/ into ``out`` [RUN/<report>-<split>,
    MODEL-<report>-<split> or OUTPUTS-<report>-<split>]; ``label`` names the model in the report's title
    [MODEL (mode)].
    """
    from tqdm import tqdm

    from i2i.data.location import task_data_root
    from i2i.eval.evaluate import evaluate_items, pick_split, read_outputs, report_dir, split_dataset, translated
    from i2i.eval.metric_set import MetricSet
    from i2i.models.compose import model_compose, task_compose
    from i2i.models.modeldir import load_config, train_preprocess
    from i2i.models.resolver import resolve_model
    from i2i.training.checkpoint_model import checkpoint_report_dir
    from i2i.training.rundir import trained_data

    if model is None and outputs is None:
        raise ConfigError("give a MODEL to translate with, or --outputs with existing outputs")
    if model is not None and size is not None:
        raise ConfigError("--size is for --outputs without a MODEL; with a MODEL pairs take its crop size")
    if checkpoint is not None and (model is None or outputs):
        raise ConfigError("--checkpoint picks a run dir's generator to translate with; it needs MODEL and no --outputs")
    registry = _registry(registry)
    source_model = resolve_model(model, checkpoint) if model else None
    config = load_config(source_model) if model else None
    task_name = task or (config or {}).get("task")
    if task_name is None:
        raise ConfigError("no task: pass --task to say how the data is laid out and which metrics to use")
    task_spec = registry.resolve("tasks", task_name)
    root = task_data_root(task_spec, data or (trained_data(model) if model else None))
    split = pick_split(root, split)
    if config:
        shape = dict(direction=config["direction"], in_channels=config["in_channels"],
                     out_channels=config["out_channels"], size=config["train_size"]["crop_size"],
                     preprocess=train_preprocess(config))
    else:
        shape = dict(direction=task_spec.direction, in_channels=task_spec.in_channels,
                     out_channels=task_spec.out_channels, size=size or _outputs_size(outputs))
    dataset = split_dataset(task_spec, root, split, **shape, limit=num_test)
    metric_set = MetricSet.build(registry, metric_names(metrics, task_spec), metric_args or {})
    if outputs:
        compose = model_compose(config) if config else task_compose(task_spec)
        items, source = read_outputs(outputs, dataset, compose), outputs
    else:
        from i2i.models.translator import Translator

        translator = Translator.load(source_model, device=device, mode=mode, precision=precision, seed=seed,
                                     cpu_gemm=cpu_gemm)
        warn_if_slow(translator.precision_choice)
        items = translated(translator.translate, dataset, translator.compose)
        source = label or f"{model} ({translator.mode} mode)"
    out_dir = Path(out) if out else checkpoint_report_dir(
        report_dir(Path(model) if model and not outputs else Path(outputs), report, split), checkpoint)
    with tqdm(total=len(dataset), unit="img", disable=True if quiet else None, dynamic_ncols=True) as bar:
        record = evaluate_items(items, metric_set, out_dir, f"{task_name} {split}: {source}", bar.update)
    return Evaluation(record, out_dir, Path(root) / split, metric_set)


def metric_names(metrics: str | Iterable[str] | None, task) -> list[str]:
    """Metric names from a list or a comma-separated string; none given: ``task``'s preset."""
    if isinstance(metrics, str):
        metrics = [name.strip() for name in metrics.split(",")]
    names = [name for name in metrics or () if name]
    return names or list(task.metrics)


def _outputs_size(folder: str | Path) -> int:
    """The height of the first image in ``folder``: the size the outputs were made at."""
    from i2i.core.errors import DataError
    from i2i.data.images import list_images, read_image

    images = list_images(Path(folder)) if Path(folder).is_dir() else []
    if not images:
        raise DataError(f"--outputs {folder} holds no images")
    return read_image(images[0]).shape[-2]


# --- translation ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Translation:
    """What :func:`translate` wrote: ``outputs[i]`` is the output of ``inputs[i]``; ``skipped`` bad images."""

    inputs: list[Path]
    outputs: list[Path]
    skipped: list[Path]


def translate(model, inputs: Iterable[str | Path], out: str | Path, *, mode: str | None = None,
              tile: int | None = None, overlap: int = 32, device: str = "auto", precision: str = "auto",
              cpu_gemm: bool | None = None, batch_size: int | None = None, seed: int | None = None,
              task: str | None = None, skip_bad_images: bool = False, checkpoint: str | None = None,
              quiet: bool = False, registry=None) -> Translation:
    """Translate image files, folders and globs with ``model`` into ``out/<stem>.png`` (a stem seen before
    gets -2, -3, ...). ``model`` is a model dir, a run dir (``checkpoint``: best, latest or epoch_N), a Hub
    id, a model source's id, or a :class:`~i2i.models.translator.Translator` from :func:`i2i.load` (which keeps the
    device, mode, tiling and seed it was loaded with); ``tile``/``overlap``, ``mode``, ``batch_size``,
    ``seed`` and ``task`` (its input preprocessing first) are ``i2i translate``'s options."""
    from tqdm import tqdm

    from i2i.models.resolver import resolve_model
    from i2i.models.translate_files import expand_inputs, output_names, readable, task_reader, write_output
    from i2i.models.translator import Translator

    paths = expand_inputs([str(p) for p in inputs])
    if isinstance(model, Translator):
        translator = model
    else:
        translator = Translator.load(resolve_model(model, checkpoint), device=device, mode=mode,
                                     precision=precision, tile=tile, overlap=overlap, batch_size=batch_size,
                                     seed=seed, cpu_gemm=cpu_gemm)
        warn_if_slow(translator.precision_choice)
    read = translator.prepare
    if task:
        read = task_reader(_registry(registry).resolve("tasks", task), translator.config, translator.prepare)
    out_dir = Path(out)
    jobs = list(zip(paths, output_names(paths)))
    written: dict[Path, Path] = {}
    with tqdm(total=len(jobs), unit="img", disable=True if quiet else None, dynamic_ncols=True) as progress:
        for first in range(0, len(jobs), translator.images_per_pass):
            wanted = jobs[first:first + translator.images_per_pass]
            chunk = readable(wanted, read, skip_bad_images)
            progress.update(len(wanted) - len(chunk))
            results = translator.translate_batch([image for _, _, image in chunk])
            for (path, name, _), result in zip(chunk, results):
                write_output(result, out_dir / name)
                written[path] = out_dir / name
                progress.set_postfix_str(path.name, refresh=False)
                progress.update()
    done = [path for path in paths if path in written]
    return Translation(done, [written[path] for path in done], [path for path in paths if path not in written])
