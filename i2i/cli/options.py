"""What commands share: registry-backed component names, KEY=VALUE arguments, and the options defined once
(device, precision, mode, seed, quiet, checkpoint, metrics)."""

from __future__ import annotations

import json

import click
from click.shell_completion import CompletionItem

from i2i.core.errors import I2IError
from i2i.core.registry import SINGULAR


class ComponentName(click.ParamType):
    """A registered component name of one kind: checked at parse time, completed from the registry."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = SINGULAR[kind]

    def _registry(self):
        from i2i.core.plugin_manager import get_registry

        return get_registry()

    def convert(self, value, param, ctx):
        try:
            return self._registry().get(self.kind, value).name
        except I2IError as exc:
            self.fail(str(exc), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        return [CompletionItem(entry.name, help=entry.description)
                for entry in self._registry().list(self.kind, f"{incomplete}*")]


class LossSpec(click.ParamType):
    """``l1+cgan`` or ``l1:100+cgan:1``: loss names joined by '+', each checked against the registry and with
    an optional weight."""

    name = "loss"

    def convert(self, value, param, ctx):
        from i2i.core.plugin_manager import get_registry
        from i2i.training.objective import format_loss_spec, parse_loss_spec

        try:
            return format_loss_spec([(get_registry().get("losses", name).name, weight)
                                     for name, weight in parse_loss_spec(value)])
        except I2IError as exc:
            self.fail(str(exc), param, ctx)


def checkpoint_option(command):
    """``--checkpoint best|latest|epoch_N`` for commands that take MODEL (see :mod:`i2i.training.checkpoint_model`)."""
    return click.option("--checkpoint", metavar="best|latest|epoch_N",
                        help="With a run dir: use this checkpoint's generator instead of model/ (the final one); "
                             "the error lists the checkpoints the run has.")(command)


def parse_key_values(pairs: tuple[str, ...], option: str) -> dict:
    """``("ngf=32", "norm=instance")`` → ``{"ngf": 32, "norm": "instance"}`` (values parsed as JSON when they can be)."""
    parsed = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        try:
            parsed[key.replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[key.replace("-", "_")] = raw
    return parsed


def parse_metric_args(pairs: tuple[str, ...]) -> dict[str, dict]:
    """``("fid.weights=w.pth",)`` → ``{"fid": {"weights": "w.pth"}}``."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        metric, dot, rest = pair.partition(".")
        if not dot or not metric or "=" not in rest:
            raise click.BadParameter(f"expected METRIC.KEY=VALUE, got {pair!r}", param_hint="--metric-arg")
        grouped.setdefault(metric, []).append(rest)
    return {metric: parse_key_values(tuple(items), "--metric-arg") for metric, items in grouped.items()}


def metrics_option(command):
    """``--metrics a,b`` (see :func:`i2i.usecases.metric_names`)."""
    return click.option("--metrics",
                        help="Comma-separated registered metrics (`i2i list metrics`) [the task's preset].")(command)


def with_metric_options(command):
    """``--metrics`` and ``--metric-arg METRIC.KEY=VALUE`` (parse it with :func:`parse_metric_args`)."""
    command = click.option(
        "--metric-arg", "metric_args", multiple=True, metavar="METRIC.KEY=VALUE",
        help="Argument for one metric, e.g. fid.weights=pt_inception.pth or fcn_score.segmenter=MODEL.")(command)
    return metrics_option(command)


PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # i2i.accel.precision.CHOICES, named here without importing torch
MODES = ("paper", "eval")  # i2i.models.inference_mode.MODES


def device_option(command):
    """``--device``, the same on every command that runs a network."""
    return click.option("--device", default="auto", show_default=True,
                        help="auto, cpu, cuda, cuda:N or mps.")(command)


def hardware_options(command):
    """``--precision`` and ``--cpu-gemm/--no-cpu-gemm``, the same on every command that runs a network."""
    command = click.option(
        "--cpu-gemm/--no-cpu-gemm", default=None,
        help="On the CPU, run convolutions with big weights at few positions as one matrix product "
             "[auto: on; env I2I_CPU_GEMM=1/0].")(command)
    return click.option(
        "--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
        help="auto: bf16 where it is native and faster (CUDA with bf16 support, CPUs with AVX512-BF16 or "
             "AMX), else fp32. bf16 on other CPUs is emulated and ~3x slower (a warning says so); "
             "fp16: GPUs only.")(command)


def mode_option(help: str = "Inference mode [the model's].", name: str = "mode"):
    """``--mode paper|eval``; ``help`` says what it sets and its default on this command."""
    return click.option("--mode", name, type=click.Choice(MODES), help=help)


def seed_option(help: str, default: int | None = 0):
    """``--seed N``; ``help`` says what this command seeds."""
    return click.option("--seed", type=int, default=default, show_default=default is not None, help=help)


def quiet_option(help: str = "No progress bar.", short: bool = True):
    """``--quiet`` (and ``-q`` where ``short``); ``help`` says what this command leaves out."""
    return click.option(*(("-q", "--quiet") if short else ("--quiet",)), is_flag=True, help=help)


def split_run_options(command):
    """What ``i2i eval`` and ``i2i test`` take to run MODEL over a split: mode, device, precision, seed, quiet and
    checkpoint."""
    for option in reversed((mode_option(), device_option, hardware_options, seed_option("Seed for paper mode's dropout."),
                            quiet_option(), checkpoint_option)):
        command = option(command)
    return command
