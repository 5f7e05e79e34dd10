"""`i2i serve MODEL...`: a local page to draw or upload, translate and download, plus its JSON/HTTP API."""

from __future__ import annotations

import click

from i2i.cli.options import device_option, hardware_options, mode_option
from i2i.core.errors import ConfigError


@click.command("serve")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback (e.g. 0.0.0.0) prints a warning.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@mode_option("Default inference mode [each model's own].")
@click.option("--tile", type=int, metavar="SIZE", help="Translate in overlapping SIZE-pixel tiles (large images).")
@click.option("--overlap", type=int, default=32, metavar="PX", show_default=True, help="Pixels tiles share.")
@device_option
@hardware_options
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=20, show_default=True,
              help="Largest upload accepted (413 above it).")
@click.option("--max-pixels", type=click.IntRange(min=1), default=2048 * 2048, show_default=True,
              help="Largest image accepted, in pixels (413 above it).")
@click.option("--queue", "queue_size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests that may wait per model; more get 503.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve_command(models, host, port, mode, tile, overlap, device, precision, cpu_gemm, max_upload_mb, max_pixels, queue_size,
                  verbose) -> None:
    """Serve a page to draw or upload an image, translate it with MODEL and download the output.

    MODEL is anything `i2i translate` takes: a run dir, a model dir, a Hub id ORG/NAME[@REV] or a model
    source's id such as pix2pix/facades_label2photo. Several MODELs get a picker. Label-map tasks (demo, facades,
    cityscapes) draw with their label colours.

    The page's API is documented in the README: GET /api/models, POST /api/translate (image bytes in, PNG out).
    """
    from i2i.models.translator import Translator
    from i2i.usecases import warn_if_slow
    from i2i.web.serve import Limits, TranslationServer, task_palette
    from i2i.web.server import wait_for_interrupt

    if len(set(models)) != len(models):
        raise ConfigError("a MODEL is given twice")
    translators = {}
    for model in models:
        click.echo(f"loading {model}", err=True)
        translators[model] = Translator.load(model, device=device, mode=mode, precision=precision, tile=tile,
                                             overlap=overlap, cpu_gemm=cpu_gemm)
    for translator in list(translators.values())[:1]:  # one warning, however many models
        warn_if_slow(translator.precision_choice)
    palettes = {name: task_palette(t.config["task"]) for name, t in translators.items()}
    limits = Limits(max_bytes=int(max_upload_mb * 1024 * 1024), max_pixels=max_pixels, queue_size=queue_size)
    server = TranslationServer(translators, host=host, port=port, limits=limits, palettes=palettes, verbose=verbose)
    try:
        wait_for_interrupt(server.url, host, f"{len(models)} model(s)")
    finally:
        server.close()
