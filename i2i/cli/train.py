"""`i2i train`: the paper's training loop on a task's data, or `--resume` an interrupted run."""

from __future__ import annotations

import click
from click.core import ParameterSource

from i2i.cli.options import (ComponentName, LossSpec, device_option, hardware_options, mode_option, parse_key_values,
                             quiet_option, seed_option)
from i2i.core.errors import ConfigError, Interrupted
from i2i.core.task import PREPROCESS_MODES
from i2i.training.presets import PRESETS
from i2i.training.schedule import POLICIES

# Options that may differ when resuming: they change speed or output, not the run's maths.
_RUNTIME = {"resume", "device", "precision", "cpu_gemm", "quiet", "num_workers", "channels_last", "epochs",
            "epochs_decay", "tracker", "nproc", "dist_timeout"}


@click.command("train")
@click.option("--task", type=ComponentName("tasks"), default="demo", show_default=True,
              help="Registered task (`i2i list tasks`; `paired` for your own A|B images or A/ + B/ folders); "
                   "its recipe gives the defaults below.")
@click.option("--data", type=click.Path(file_okay=False),
              help="Folder with the task's splits (train/, val/, test/), or the files directly (split by file "
                   "name hash: 90/5/5).")
@click.option("--preset", type=click.Choice(list(PRESETS)),
              help="small: a few hundred images on a CPU (64-px crops, batch 4, ngf=ndf=32, 3+2 epochs); "
                   "other options override it. [the task's paper recipe]")
@click.option("--gen", "generator", type=ComponentName("generators"), help="Generator [task default: unet].")
@click.option("--gen-arg", "gen_args", multiple=True, metavar="KEY=VALUE", help="Generator argument, e.g. ngf=32.")
@click.option("--disc", "discriminator", type=ComponentName("discriminators"),
              help="Discriminator [task default: patch70].")
@click.option("--disc-arg", "disc_args", multiple=True, metavar="KEY=VALUE", help="Discriminator argument.")
@click.option("--loss", type=LossSpec(), help="Objective terms joined by '+', each with an optional weight: "
                                              "l1+cgan, l1:100+cgan:1 [task default: l1+cgan].")
@click.option("--lambda-l1", type=float, help="Weight of the L1 term when --loss gives it none [100].")
@click.option("--epochs", type=int, help="Epochs at constant learning rate [task recipe].")
@click.option("--epochs-decay", type=int,
              help="Epochs after those (with --lr-policy linear: decaying to zero) [task recipe].")
@click.option("--batch-size", type=int,
              help="Batch size of each process [task recipe]; the global batch is this times the processes.")
@click.option("--load-size", type=int, help="Resize both images to this before cropping [task recipe].")
@click.option("--crop-size", type=int, help="Random crop size; sets the U-Net depth [task recipe].")
@click.option("--flip/--no-flip", default=None, help="Random horizontal flip of each pair [task recipe].")
@click.option("--preprocess", type=click.Choice(PREPROCESS_MODES),
              help="The port's modes, the same for A and B: resize to --load-size square | scale the width to "
                   "--load-size | neither, then crop --crop-size ('crop' modes); 'none': sizes to multiples of 4. "
                   "Uncropped sizes follow each image: use --batch-size 1 unless all share one size "
                   "[task recipe: resize_and_crop].")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), help="Which side is the input [task].")
@click.option("--lr", type=float, help="Adam learning rate [2e-4].")
@click.option("--lr-policy", type=click.Choice(POLICIES),
              help="The port's lr policies: linear decay over --epochs-decay; step: x0.1 every --lr-decay-every "
                   "epochs; plateau: x0.2 when --best-metric stalls 5 validations; cosine: to 0 over --epochs "
                   "[linear].")
@click.option("--lr-decay-every", type=int, help="Epochs between x0.1 steps of --lr-policy step [50].")
@click.option("--beta1", type=float, help="Adam beta1 [0.5].")
@seed_option("Seed for init, data order and jitter.")
@click.option("--init-type", type=click.Choice(["normal", "xavier", "kaiming", "orthogonal"]),
              help="Re-initialise G and D as the port's init_type does [each network's own: for the built-ins "
                   "the paper's normal with gain 0.02].")
@click.option("--init-gain", type=float, help="Scale for --init-type normal, xavier and orthogonal [0.02].")
@click.option("--val-every", type=int, help="Validate every N epochs (0: never) [1].")
@click.option("--val-metrics", help="Comma-separated registered metrics for validation [task preset].")
@click.option("--best-metric", help="Also keep checkpoints/best: the epoch with the best value of this validation "
                                    "metric [off: model/ is the final generator, as in the paper; PSNR and L1 "
                                    "favour the blurriest GAN epochs].")
@click.option("--save-every", type=int, help="Keep a checkpoint every N epochs (0: none; latest is always kept) [5].")
@click.option("--save-training-state", is_flag=True, default=None,
              help="Periodic and best checkpoints hold G, D and both optimisers [generator weights only; "
                   "checkpoints/latest always holds the full state, which --resume needs].")
@click.option("--max-train", type=int, metavar="N",
              help="Train on at most N pairs: a subset of the train split fixed by --seed [all].")
@click.option("--log-every", type=int, help="Log losses every N steps [50].")
@mode_option(name="inference_mode",
             help="Inference mode for validation and the exported model [paper when trained at batch size 1, "
                  "else eval: paper mode's batch statistics only fit batch-1 training].")
@click.option("--skip-bad-images", is_flag=True, default=None, help="Skip undecodable images with a warning.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Run directory [runs/<task>-<date-time>]; a run there that saved no checkpoint starts over.")
@click.option("--resume", type=click.Path(exists=True, file_okay=False),
              help="Continue this run from its latest checkpoint (--epochs/--epochs-decay and the number of "
                   "processes may change); a run that saved none starts again from scratch.")
@device_option
@hardware_options
@click.option("--channels-last/--no-channels-last", default=None,
              help="NHWC activations [on CUDA; off on the CPU, where it measured no faster].")
@click.option("--num-workers", type=click.IntRange(min=0), default=0, show_default=True, help="Data loader worker processes.")
@quiet_option(short=False,
              help="No progress bar, nor the line per --log-every steps printed instead of one where stderr "
                   "is not a terminal (a line per epoch is always printed).")
@click.option("--tracker", multiple=True, type=ComponentName("trackers"),
              help="Also log to this experiment tracker: tensorboard or wandb (each needs its extra, e.g. "
                   "pip install 'i2i-pix2pix[tensorboard]'), or a plugin's (`i2i list trackers`); repeatable.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train in N processes on this machine (torchrun's machinery; one per GPU, or gloo on the CPU).")
@click.option("--sync-bn/--no-sync-bn", default=None,
              help="With several processes, batch norm over the global batch (SyncBatchNorm) [on].")
@click.option("--dist-timeout", type=click.FloatRange(min=1), default=1800, show_default=True, metavar="SECONDS",
              help="With several processes: how long one waits for the others before the run fails.")
@click.pass_context
def train_command(ctx: click.Context, **options) -> None:
    """Train a generator and discriminator with the paper's objective and schedule.

    With no options it trains the offline demo task. The run dir's index.html shows the loss curves,
    validation metrics and sample grids, and reloads itself while the run trains. Examples:
    `i2i train --task facades --data datasets/facades`,
    `i2i train --task maps --gen unet --disc patch70 --epochs 100 --epochs-decay 100`,
    `i2i train --resume runs/maps-20260101-120000`.
    Several processes: `i2i train --nproc 2 ...` or `torchrun --nproc-per-node 8 -m i2i train ...`.
    """
    from i2i.training import distributed

    if options["nproc"] > 1:
        distributed.launch_local(options["nproc"], _command_line(ctx, drop={"nproc"}))
        return
    device = distributed.setup(options["device"], options["dist_timeout"])
    world = distributed.world()
    try:
        path = options["resume"] or options["out"]
        with distributed.failing_together(f"; `i2i train --resume {path}` continues from the last checkpoint"
                                          if path else ""):
            _train(ctx, options, device, world)
    except Interrupted:
        if world.is_main:
            raise
        raise SystemExit(Interrupted.exit_code) from None  # rank 0 says what was saved
    distributed.teardown()


def _train(ctx: click.Context, options: dict, device, world) -> None:
    from i2i import usecases
    from i2i.data.datasets import describe_data

    quiet = options["quiet"] or not world.is_main
    hardware = usecases.Hardware.choose(device, options["precision"], options["cpu_gemm"], options["channels_last"],
                                        options["num_workers"])
    if world.is_main:
        usecases.warn_if_slow(hardware.precision)
    if options["resume"]:
        flags = {param.name: param.opts[0] for param in ctx.command.params}
        changed = [flags[name] for name in options if name not in _RUNTIME
                   and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if changed:
            raise ConfigError(f"cannot change {', '.join(changed)} when resuming; only speed options and "
                              f"--epochs/--epochs-decay may change")
        session = ctx.with_resource(usecases.resumed(
            options["resume"], epochs=options["epochs"], epochs_decay=options["epochs_decay"], hardware=hardware,
            quiet=quiet, log=lambda line: click.echo(line, err=True)))
    else:
        fields = {k: options[k] for k in (
            "data", "generator", "discriminator", "loss", "lambda_l1", "epochs", "epochs_decay", "batch_size",
            "load_size", "crop_size", "preprocess", "flip", "direction", "lr", "lr_policy", "lr_decay_every",
            "beta1", "seed", "init_type", "init_gain", "val_every", "best_metric", "save_every", "log_every",
            "inference_mode", "skip_bad_images", "save_training_state", "max_train", "sync_bn")}
        fields["world_size"] = world.size
        fields["generator_args"] = parse_key_values(options["gen_args"], "--gen-arg")
        fields["discriminator_args"] = parse_key_values(options["disc_args"], "--disc-arg")
        if options["val_metrics"]:
            fields["val_metrics"] = [m.strip() for m in options["val_metrics"].split(",") if m.strip()]
        config = usecases.new_config(options["task"], preset=options["preset"], **fields)
        session = ctx.with_resource(usecases.started(config, options["out"], hardware=hardware, quiet=quiet))
    config, run = session.config, session.run
    if not quiet:
        start = f"resuming {run.path} {session.resume_point}: " if options["resume"] else "training "
        epochs = f"{config.total_epochs} epoch{'s' if config.total_epochs != 1 else ''}"
        click.echo(f"{start}{config.task}: {config.generator} + "
                   f"{config.discriminator if session.trainer.discriminator is not None else 'no D'}, "
                   f"loss {config.loss}, {epochs}, {len(session.train_set)} pairs, "
                   f"{device} {hardware.precision.precision} ({hardware.precision.reason}){_processes(config)} "
                   f"-> {run.path}", err=True)
        click.echo(f"data: {describe_data(session.train_set)}", err=True)
        click.echo(session.disk_plan().describe(), err=True)
    model = usecases.fit(session, options["tracker"])
    if world.is_main:
        click.echo(f"done: model in {model} (translate with `i2i translate {run.path} INPUT -o OUT`)", err=True)


def _processes(config) -> str:
    if config.world_size == 1:
        return ""
    return (f" x {config.world_size} processes, global batch {config.global_batch_size} "
            f"({config.batch_size} each{', SyncBatchNorm' if config.sync_bn else ''})")


def _command_line(ctx: click.Context, drop: set[str]) -> list[str]:
    """This command's arguments as given on the command line, without the options in ``drop``."""
    args = ["train"]
    for param in ctx.command.params:
        if param.name in drop or ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        if param.is_flag:
            args.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            args += [item for v in (value if param.multiple else [value]) for item in (param.opts[0], str(v))]
    return args
