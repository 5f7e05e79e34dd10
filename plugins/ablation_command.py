"""`i2i ablate --task T`: the paper's Tables 1–3 (objectives, generators, discriminator fields) on any task.

A plugin command (entry point ``ablation``, hook ``register_commands``); the work is :mod:`i2i_plugins.ablation`.
"""

from __future__ import annotations

from pathlib import Path

import click

from i2i.api import (ComponentName, ConfigError, device_option, get_registry, hardware_options, hookimpl,
                     parse_key_values, parse_metric_args, quiet_option, seed_option, with_metric_options)


@hookimpl
def register_commands(cli):
    cli.add_command(ablate_command)


@click.command("ablate")
@click.option("--task", type=ComponentName("tasks"), default="demo", show_default=True, help="Registered task.")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the task's splits [the task's cache].")
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder [ablations/<task>].")
@click.option("--split", help="Split to evaluate each run on [test, or val where there is no test split].")
@with_metric_options
@click.option("--epochs", type=int, help="Epochs at constant learning rate, every run [task recipe].")
@click.option("--epochs-decay", type=int, help="Epochs of linear decay, every run [task recipe].")
@click.option("--batch-size", type=int, help="Batch size [task recipe].")
@click.option("--load-size", type=int, help="Resize before cropping [task recipe].")
@click.option("--crop-size", type=int, help="Crop size; sets the U-Net and encoder-decoder depth [task recipe].")
@click.option("--gen-arg", "gen_args", multiple=True, metavar="KEY=VALUE",
              help="Argument for both generators, e.g. ngf=8.")
@click.option("--disc-arg", "disc_args", multiple=True, metavar="KEY=VALUE", help="Argument for every discriminator.")
@click.option("--max-train", type=int,
              help="Train on this many pairs (a seeded subset, the same in every run) to fit a small budget.")
@seed_option("Seed of every run.")
@device_option
@hardware_options
@quiet_option("No progress bars; one line per run.")
def ablate_command(task, data, out, split, metrics, metric_args, epochs, epochs_decay, batch_size, load_size,
                   crop_size, gen_args, disc_args, max_train, seed, device, precision, cpu_gemm, quiet) -> None:
    """Train every configuration of the paper's ablations and tabulate their scores.

    Table 1: L1, GAN, cGAN, L1+GAN, L1+cGAN (U-Net, 70×70 PatchGAN). Table 2: encoder-decoder vs
    U-Net, each with L1 and L1+cGAN. Table 3: L1+cGAN with 1×1, 16×16, 70×70 and 286×286 fields.
    Shared runs train once (10 runs); an interrupted ablation resumes where it stopped. Writes
    OUT/ablation.md, OUT/ablation.json, OUT/<config>/ (run + eval-<split>/) and OUT/table<k>/ plots.
    Example on a CPU: `i2i ablate --task facades --epochs 5 --epochs-decay 5 --crop-size 64
    --load-size 72 --gen-arg ngf=16 --disc-arg ndf=16`.
    """
    from i2i.api import Hardware, metric_names, warn_if_slow  # the use cases import torch: only when it runs
    from i2i_plugins.ablation import Ablation

    if max_train is not None and max_train < 1:
        raise ConfigError("--max-train must be at least 1")
    task_spec = get_registry().resolve("tasks", task)
    names = metric_names(metrics, task_spec)
    if "lab_hist" not in names:
        names.append("lab_hist")  # the paper's colour analysis: Lab marginals and their intersections
    overrides = {"data": data, "epochs": epochs, "epochs_decay": epochs_decay, "batch_size": batch_size,
                 "load_size": load_size, "crop_size": crop_size, "seed": seed,
                 "generator_args": parse_key_values(gen_args, "--gen-arg"),
                 "discriminator_args": parse_key_values(disc_args, "--disc-arg")}
    hardware = Hardware.choose(device, precision, cpu_gemm)
    warn_if_slow(hardware.precision)
    ablation = Ablation(task_spec, Path(out or Path("ablations") / task),
                        {k: v for k, v in overrides.items() if v is not None},
                        names, parse_metric_args(metric_args), hardware, split=split, max_train=max_train,
                        quiet=quiet, log=lambda line: click.echo(line, err=True))
    summary = ablation.run()
    click.echo(f"{len(summary['runs'])} runs evaluated, {len(summary['not_run'])} not run; "
               f"see {ablation.out / 'ablation.md'}")
