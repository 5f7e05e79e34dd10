"""`i2i eval [MODEL] --task T`: score a split's outputs with the task's metrics; report, page and plots."""

from __future__ import annotations

from pathlib import Path

import click

from i2i.cli.options import ComponentName, checkpoint_option, hardware_options, parse_key_values, warn_if_slow
from i2i.errors import ConfigError


def parse_metric_args(pairs: tuple[str, ...]) -> dict[str, dict]:
    """``("fid.weights=w.pth",)`` → ``{"fid": {"weights": "w.pth"}}``."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        metric, dot, rest = pair.partition(".")
        if not dot or not metric or "=" not in rest:
            raise click.BadParameter(f"expected METRIC.KEY=VALUE, got {pair!r}", param_hint="--metric-arg")
        grouped.setdefault(metric, []).append(rest)
    return {metric: parse_key_values(tuple(items), "--metric-arg") for metric, items in grouped.items()}


def metric_names(metrics: str | None, task) -> list[str]:
    return [m.strip() for m in metrics.split(",") if m.strip()] if metrics else list(task.metrics)


metric_options = [
    click.option("--metrics", help="Comma-separated registered metrics (`i2i list metrics`) [the task's preset]."),
    click.option("--metric-arg", "metric_args", multiple=True, metavar="METRIC.KEY=VALUE",
                 help="Argument for one metric, e.g. fid.weights=pt_inception.pth or fcn_score.segmenter=MODEL."),
]


def with_metric_options(command):
    for option in reversed(metric_options):
        command = option(command)
    return command


@click.command("eval")
@click.argument("model", required=False)
@click.option("--task", type=ComponentName("tasks"), help="Task whose data and metrics to use [the model's task].")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [a run's own --data, else the task's cache].")
@click.option("--split", help="Split to score [test, or val where there is no test split].")
@click.option("--num-test", type=click.IntRange(min=1), help="Only the first N pairs of the split (by name) [all].")
@with_metric_options
@click.option("--outputs", type=click.Path(exists=True, file_okay=False),
              help="Score these existing outputs (named after the pairs' files) instead of translating.")
@click.option("--size", type=int, help="Without MODEL: the size pairs are resized to [the outputs' height].")
@click.option("-o", "--out", type=click.Path(file_okay=False),
              help="Report folder [RUN/eval-<split>, MODEL-eval-<split>, or OUTPUTS-eval-<split>].")
@click.option("--mode", type=click.Choice(["paper", "eval"]), help="Inference mode [the model's].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@hardware_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for paper mode's dropout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@checkpoint_option
def eval_command(model, task, data, split, num_test, metrics, metric_args, outputs, size, out, mode, device,
                 precision, cpu_gemm, seed, quiet, checkpoint) -> None:
    """Score MODEL's outputs on a split (or existing --outputs) with the paper's metrics.

    Writes metrics.json, summary.md, index.html (metric table, plots, input | output | target rows)
    and images/. Metrics that need weights you have not supplied (fid, kid, fcn_score) are reported
    as skipped with the reason. A run dir gives its final generator (model/), or with
    --checkpoint best|latest|epoch_N that checkpoint's. Examples: `i2i eval runs/facades-... --split val`,
    `i2i eval --task cityscapes --outputs results/images --metrics fcn_score --metric-arg fcn_score.weights=fcn.pth`.
    """
    from tqdm import tqdm

    from i2i.compose import model_compose, task_compose
    from i2i.evaluation import evaluate_items, pick_split, read_outputs, report_dir, split_dataset, translated
    from i2i.metric_set import MetricSet
    from i2i.modeldir import load_config, train_preprocess
    from i2i.plugins import get_registry
    from i2i.resolver import resolve_model
    from i2i.run_checkpoint import checkpoint_report_dir
    from i2i.rundir import trained_data
    from i2i.task_data import task_data_root

    if model is None and outputs is None:
        raise ConfigError("give a MODEL to translate with, or --outputs with existing outputs")
    if model is not None and size is not None:
        raise ConfigError("--size is for --outputs without a MODEL; with a MODEL pairs take its crop size")
    if checkpoint is not None and (model is None or outputs):
        raise ConfigError("--checkpoint picks a run dir's generator to translate with; it needs MODEL and no --outputs")
    registry = get_registry()
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
    metric_set = MetricSet.build(registry, metric_names(metrics, task_spec), parse_metric_args(metric_args))
    if outputs:
        compose = model_compose(config) if config else task_compose(task_spec)
        items, source = read_outputs(outputs, dataset, compose), outputs
    else:
        from i2i.translator import Translator

        translator = Translator.load(source_model, device=device, mode=mode, precision=precision, seed=seed,
                                     cpu_gemm=cpu_gemm)
        warn_if_slow(translator.precision_choice)
        items = translated(translator.translate, dataset, translator.compose)
        source = f"{model} ({translator.mode} mode)"
    out_dir = Path(out) if out else checkpoint_report_dir(
        report_dir(Path(model) if model and not outputs else Path(outputs), "eval", split), checkpoint)
    with tqdm(total=len(dataset), unit="img", disable=True if quiet else None, dynamic_ncols=True) as bar:
        record = evaluate_items(items, metric_set, out_dir, f"{task_name} {split}: {source}", bar.update)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items()) or "no metric could run"
    click.echo(f"{record['count']} pairs: {summary}; see {out_dir / 'index.html'}")
    for name, reason in record.get("skipped", {}).items():
        click.echo(f"skipped {name}: {reason}", err=True)


def _outputs_size(folder: str) -> int:
    """The height of the first image in ``folder``: the size the outputs were made at."""
    from i2i.errors import DataError
    from i2i.images import list_images, read_image

    images = list_images(Path(folder)) if Path(folder).is_dir() else []
    if not images:
        raise DataError(f"--outputs {folder} holds no images")
    return read_image(images[0]).shape[-2]
