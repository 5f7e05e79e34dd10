"""`i2i export MODEL --format onnx|torchscript`: a deployable generator, checked against PyTorch."""

from __future__ import annotations

import click

from i2i.cli.options import checkpoint_option


@click.command("export")
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), required=True, help="Export format.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Output file [<name>.onnx or <name>.pt].")
@click.option("--no-check", is_flag=True, help="Skip the parity check against PyTorch.")
@checkpoint_option
def export_command(model, fmt, out, no_check, checkpoint) -> None:
    """Export MODEL's generator (a model dir, run dir or Hub id) to ONNX or TorchScript.

    A run dir gives its final generator (model/), or with --checkpoint best|latest|epoch_N that
    checkpoint's (the default file name then ends in -<checkpoint>).

    The export runs in eval mode (running statistics, no dropout), so it is deterministic. The paper's
    test-time mode keeps dropout on, which is random and cannot be exported deterministically; use
    `i2i translate --mode paper` for it. Batch, height and width are dynamic and any height and width
    works: the graph reflect-pads the input to the generator's size multiple and crops the output back,
    exactly as `i2i translate` does (reflection continues the image, so no dark frame appears at the
    borders). The export is run on random inputs of two sizes and its largest absolute difference from
    PyTorch is printed (ONNX needs onnxruntime: pip install 'i2i-pix2pix[export]'). The file's absolute
    path is printed on stdout.
    """
    from i2i.models.export import export_model

    result = export_model(model, fmt, out, check=not no_check, checkpoint=checkpoint)
    click.echo(f"wrote {fmt} model to {result.path} (any height and width: padded to multiples of "
               f"{result.size_multiple} and cropped back inside the graph)", err=True)
    click.echo(str(result.path))
    if result.max_abs_diff is not None:
        sizes = ", ".join("x".join(map(str, shape)) for shape in result.shapes)
        click.echo(f"max abs difference vs PyTorch (eval mode): {result.max_abs_diff:.3g} on inputs {sizes}", err=True)
