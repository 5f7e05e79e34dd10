"""`i2i test MODEL --task T | --data DIR`: translate a split, write an HTML page and metrics.json."""

from __future__ import annotations

from pathlib import Path

import click

from i2i.cli.options import ComponentName
from i2i.errors import ConfigError


def _default_out(model: Path, split: str) -> Path:
    """``RUN/test-<split>`` for a run dir; ``<model>-test-<split>`` beside a model dir (never inside it);
    ``./<NAME>-test-<split>`` for a Hub or released id (never a folder that would shadow the id)."""
    if not model.exists():
        return Path(f"{model.name}-test-{split}")
    from i2i.modeldir import resolve_model_dir

    is_run = resolve_model_dir(model) != model
    return model / f"test-{split}" if is_run else model.with_name(f"{model.name}-test-{split}")


@click.command("test")
@click.argument("model")
@click.option("--task", type=ComponentName("tasks"), help="Task whose data and layout to use [the model's task].")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [a run's own --data, else the task's cache].")
@click.option("--split", default="test", show_default=True, help="Split folder to translate.")
@click.option("--metrics", help="Comma-separated registered metrics [the task's preset].")
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder [RUN/test-<split>, or MODEL-test-<split>].")
@click.option("--mode", type=click.Choice(["paper", "eval"]), help="Inference mode [the model's].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for paper mode's dropout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def test_command(model, task, data, split, metrics, out, mode, device, precision, seed, quiet) -> None:
    """Translate a data split with MODEL; write images, index.html (input | output | target) and metrics.json.

    MODEL is a model dir, a run dir, a Hub id ORG/NAME[@REV] or a released id such as pix2pix/sat2map.

    Pairs are resized to the model's training crop size, as the paper tests.
    """
    from tqdm import tqdm

    from i2i.evaluation import evaluate_split
    from i2i.pairs import PairDataset
    from i2i.plugins import get_registry
    from i2i.rundir import trained_data
    from i2i.task_data import task_data_root
    from i2i.translator import Translator

    registry = get_registry()
    translator = Translator.load(model, device=device, mode=mode, precision=precision, seed=seed)
    config = translator.config
    task_name = task or config["task"]
    if task_name is None:
        raise ConfigError("the model names no task: pass --task to say how its data is laid out")
    task_spec = registry.resolve("tasks", task_name)
    root = task_data_root(task_spec, data or trained_data(model))
    crop = config["train_size"]["crop_size"]
    dataset = PairDataset(root, split, layout=task_spec.layout, direction=config["direction"],
                          in_channels=config["in_channels"], out_channels=config["out_channels"],
                          load_size=crop, crop_size=crop, train=False, pair_maker=task_spec.pair_maker)
    names = [m.strip() for m in metrics.split(",")] if metrics else list(task_spec.metrics)
    scorers = {name: registry.resolve("metrics", name)() for name in names}
    out_dir = Path(out) if out else _default_out(Path(model), split)
    with tqdm(total=len(dataset), unit="img", disable=True if quiet else None, dynamic_ncols=True) as bar:
        record = evaluate_split(translator.translate, dataset, scorers, out_dir,
                                title=f"{task_name} {split}: {model} ({translator.mode} mode)", progress=bar.update)
    summary = "".join(f", {k} {v:.4g}" for k, v in record["metrics"].items())
    click.echo(f"{record['count']} pair(s) of {root / split}{summary}; see {out_dir / 'index.html'}")
