"""`i2i eval [MODEL] --task T`: score a split's outputs with the task's metrics; report, page and plots."""

from __future__ import annotations

import click

from i2i.cli.options import ComponentName, parse_metric_args, split_run_options, with_metric_options


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
@split_run_options
def eval_command(model, task, data, split, num_test, metrics, metric_args, outputs, size, out, mode, device,
                 precision, cpu_gemm, seed, quiet, checkpoint) -> None:
    """Score MODEL's outputs on a split (or existing --outputs) with the paper's metrics.

    Writes metrics.json, summary.md, index.html (metric table, plots, input | output | target rows)
    and images/. Metrics that need weights you have not supplied (fid, kid, fcn_score) are reported
    as skipped with the reason. A run dir gives its final generator (model/), or with
    --checkpoint best|latest|epoch_N that checkpoint's. Examples: `i2i eval runs/facades-... --split val`,
    `i2i eval --task cityscapes --outputs results/images --metrics fcn_score --metric-arg fcn_score.weights=fcn.pth`.
    """
    from i2i import usecases

    result = usecases.evaluate(model, task=task, data=data, split=split, num_test=num_test,
                               metrics=metrics, metric_args=parse_metric_args(metric_args),
                               outputs=outputs, size=size, out=out, mode=mode, device=device, precision=precision,
                               cpu_gemm=cpu_gemm, seed=seed, checkpoint=checkpoint, quiet=quiet)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()) or "no metric could run"
    click.echo(f"{result.record['count']} pairs: {summary}; see {result.out / 'index.html'}")
    echo_skipped(result)


def echo_skipped(result) -> None:
    """One stderr line per metric of a :class:`i2i.usecases.Evaluation` that could not run, with the reason."""
    for name, reason in result.skipped.items():
        click.echo(f"skipped {name}: {reason}", err=True)
