"""`i2i test MODEL --task T | --data DIR`: translate a split, write an HTML page and metrics.json."""

from __future__ import annotations

import click

from i2i.cli.eval import echo_skipped
from i2i.cli.options import ComponentName, metrics_option, split_run_options


@click.command("test")
@click.argument("model")
@click.option("--task", type=ComponentName("tasks"), help="Task whose data and layout to use [the model's task].")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [a run's own --data, else the task's cache].")
@click.option("--split", default="test", show_default=True, help="Split folder to translate.")
@click.option("--num-test", type=click.IntRange(min=1), help="Only the first N pairs of the split (by name) [all].")
@metrics_option
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder [RUN/test-<split>, or MODEL-test-<split>].")
@split_run_options
def test_command(model, task, data, split, num_test, metrics, out, mode, device, precision, cpu_gemm, seed, quiet,
                 checkpoint) -> None:
    """Translate a data split with MODEL; write images, index.html (input | output | target) and metrics.json.

    MODEL is a model dir, a run dir, a Hub id ORG/NAME[@REV] or a model source's id such as pix2pix/sat2map.
    A run dir gives its final generator (model/), or with --checkpoint best|latest|epoch_N that
    checkpoint's (reports then go to RUN/test-<split>-<checkpoint>).

    Pairs are resized to the model's training crop size, as the paper tests (with the --preprocess mode
    it trained with: e.g. scale_width scales the width to it and keeps the aspect). `i2i eval` does the
    same with more options (--metric-arg, --outputs).
    """
    from i2i import usecases

    result = usecases.evaluate(model, task=task, data=data, split=split, num_test=num_test,
                               metrics=metrics, out=out, mode=mode, device=device, precision=precision,
                               cpu_gemm=cpu_gemm, seed=seed, checkpoint=checkpoint, quiet=quiet, report="test")
    summary = "".join(f", {k} {v:.4g}" for k, v in result.metrics.items())
    click.echo(f"{result.record['count']} pair(s) of {result.data}{summary}; see {result.out / 'index.html'}")
    echo_skipped(result)
