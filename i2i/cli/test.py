"""`i2i test MODEL --task T | --data DIR`: translate a split, write an HTML page and metrics.json."""

from __future__ import annotations

from pathlib import Path

import click

from i2i.cli.options import ComponentName, checkpoint_option, hardware_options, warn_if_slow
from i2i.errors import ConfigError


@click.command("test")
@click.argument("model")
@click.option("--task", type=ComponentName("tasks"), help="Task whose data and layout to use [the model's task].")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [a run's own --data, else the task's cache].")
@click.option("--split", default="test", show_default=True, help="Split folder to translate.")
@click.option("--num-test", type=click.IntRange(min=1), help="Only the first N pairs of the split (by name) [all].")
@click.option("--metrics", help="Comma-separated registered metrics [the task's preset].")
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder [RUN/test-<split>, or MODEL-test-<split>].")
@click.option("--mode", type=click.Choice(["paper", "eval"]), help="Inference mode [the model's].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@hardware_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for paper mode's dropout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@checkpoint_option
def test_command(model, task, data, split, num_test, metrics, out, mode, device, precision, cpu_gemm, seed, quiet,
                 checkpoint) -> None:
    """Translate a data split with MODEL; write images, index.html (input | output | target) and metrics.json.

    MODEL is a model dir, a run dir, a Hub id ORG/NAME[@REV] or a released id such as pix2pix/sat2map.
    A run dir gives its final generator (model/), or with --checkpoint best|latest|epoch_N that
    checkpoint's (reports then go to RUN/test-<split>-<checkpoint>).

    Pairs are resized to the model's training crop size, as the paper tests (with the --preprocess mode
    it trained with: e.g. scale_width scales the width to it and keeps the aspect).
    """
    from tqdm import tqdm

    from i2i.cli.eval import metric_names
    from i2i.evaluation import evaluate_items, report_dir, split_dataset, translated
    from i2i.metric_set import MetricSet
    from i2i.modeldir import train_preprocess
    from i2i.plugins import get_registry
    from i2i.resolver import resolve_model
    from i2i.run_checkpoint import checkpoint_report_dir
    from i2i.rundir import trained_data
    from i2i.task_data import task_data_root
    from i2i.translator import Translator

    registry = get_registry()
    translator = Translator.load(resolve_model(model, checkpoint), device=device, mode=mode, precision=precision,
                                 seed=seed, cpu_gemm=cpu_gemm)
    warn_if_slow(translator.precision_choice)
    config = translator.config
    task_name = task or config["task"]
    if task_name is None:
        raise ConfigError("the model names no task: pass --task to say how its data is laid out")
    task_spec = registry.resolve("tasks", task_name)
    root = task_data_root(task_spec, data or trained_data(model))
    dataset = split_dataset(task_spec, root, split, direction=config["direction"],
                            in_channels=config["in_channels"], out_channels=config["out_channels"],
                            size=config["train_size"]["crop_size"], preprocess=train_preprocess(config),
                            limit=num_test)
    metric_set = MetricSet.build(registry, metric_names(metrics, task_spec))
    out_dir = Path(out) if out else checkpoint_report_dir(report_dir(Path(model), "test", split), checkpoint)
    with tqdm(total=len(dataset), unit="img", disable=True if quiet else None, dynamic_ncols=True) as bar:
        record = evaluate_items(translated(translator.translate, dataset, translator.compose), metric_set, out_dir,
                                f"{task_name} {split}: {model} ({translator.mode} mode)", bar.update)
    summary = "".join(f", {k} {v:.4g}" for k, v in record["metrics"].items())
    click.echo(f"{record['count']} pair(s) of {root / split}{summary}; see {out_dir / 'index.html'}")
    for name, reason in record.get("skipped", {}).items():
        click.echo(f"skipped {name}: {reason}", err=True)
