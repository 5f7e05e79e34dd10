"""Click parameter types shared by commands: registry-backed component names, KEY=VALUE arguments."""

from __future__ import annotations

import json

import click
from click.shell_completion import CompletionItem

from i2i.errors import I2IError
from i2i.registry import SINGULAR


class ComponentName(click.ParamType):
    """A registered component name of one kind: checked at parse time, completed from the registry."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = SINGULAR[kind]

    def _registry(self):
        from i2i.plugins import get_registry

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
        from i2i.objective import format_loss_spec, parse_loss_spec
        from i2i.plugins import get_registry

        try:
            return format_loss_spec([(get_registry().get("losses", name).name, weight)
                                     for name, weight in parse_loss_spec(value)])
        except I2IError as exc:
            self.fail(str(exc), param, ctx)


def checkpoint_option(command):
    """``--checkpoint best|latest|epoch_N`` for commands that take MODEL (see :mod:`i2i.run_checkpoint`)."""
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


PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # i2i.precision.CHOICES, named here without importing torch


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


def warn_if_slow(choice) -> None:
    """Print the one-line warning of a :class:`i2i.precision.PrecisionChoice` that will run slowly."""
    if choice.warning:
        click.echo(f"Warning: {choice.warning}", err=True)
