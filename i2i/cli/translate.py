"""`i2i translate MODEL INPUT... -o OUT`: translate image files, folders or globs into ``OUT/<stem>.png``."""

from __future__ import annotations

import click

from i2i.cli.options import (ComponentName, checkpoint_option, device_option, hardware_options, mode_option,
                             quiet_option, seed_option)
from i2i.core.errors import ConfigError


@click.command("translate")
@click.argument("model")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), required=True, help="Folder for the outputs.")
@mode_option("paper (dropout on, test-batch statistics) or eval; default: the model's.")
@click.option("--tile", type=int, metavar="SIZE",
              help="Translate overlapping SIZE-pixel tiles (a multiple of the model's size multiple).")
@click.option("--overlap", type=int, default=32, metavar="PX", show_default=True,
              help="Pixels that neighbouring tiles share and blend.")
@device_option
@hardware_options
@click.option("--batch-size", type=int, help="Images per forward pass (tiles, with --tile). [default: 1; 8 tiles]")
@seed_option("Seed for paper mode's dropout: the same seed gives the same outputs.", default=None)
@click.option("--task", type=ComponentName("tasks"),
              help="Apply this task's input preprocessing first, at the model's crop size "
                   "(e.g. --task sketch2photo turns hand sketches into the edges an edges2shoes model saw).")
@click.option("--skip-bad-images", is_flag=True,
              help="Skip images that cannot be read (undecodable, animated, over the pixel limit) with a warning, "
                   "instead of stopping at the first.")
@quiet_option("No progress bar or summary.")
@checkpoint_option
@click.pass_context
def translate_command(ctx, model, inputs, out, mode, tile, overlap, device, precision, cpu_gemm, batch_size, seed,
                      task, skip_bad_images, quiet, checkpoint) -> None:
    """Translate images with MODEL into OUT/<stem>.png.

    MODEL is a model dir, a run dir, a Hub id ORG/NAME[@REV] (pulled on demand) or a model source's
    id such as pix2pix/facades_label2photo. A run dir gives its final generator (model/), or with
    --checkpoint best|latest|epoch_N that checkpoint's.

    Each INPUT is an image file, a folder (its images) or a glob such as 'photos/*.jpg'. Any image
    size works: inputs are padded to what the generator needs and cropped back. Inputs sharing a
    stem are written as <stem>.png, <stem>-2.png, ... in the order given.
    """
    from i2i import usecases

    if tile is None and ctx.get_parameter_source("overlap") is click.core.ParameterSource.COMMANDLINE:
        raise ConfigError("--overlap only applies with --tile SIZE")
    result = usecases.translate(model, inputs, out, mode=mode, tile=tile, overlap=overlap, device=device,
                                precision=precision, cpu_gemm=cpu_gemm, batch_size=batch_size, seed=seed, task=task,
                                skip_bad_images=skip_bad_images, checkpoint=checkpoint, quiet=quiet)
    if not quiet:
        bad = f" (skipped {len(result.skipped)} bad image(s))" if result.skipped else ""
        click.echo(f"translated {len(result.outputs)} image(s) into {out}{bad}", err=True)
