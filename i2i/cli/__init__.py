"""The ``i2i`` command. Importing this module imports no torch; commands import it when they run."""

from __future__ import annotations

import click

from i2i import __version__
from i2i.cli import catalog, data, eval, export, hub, serve, study, test, train, translate
from i2i.cli.group import I2IGroup


@click.group(cls=I2IGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="i2i")
def cli() -> None:
    """i2i: train, use and share paired image-to-image translation models (pix2pix).

    Components (generators, discriminators, losses, tasks, metrics, trackers, model sources) and
    some commands (such as `ablate`) come from plugins; `i2i plugins` shows which are installed and
    `i2i list` what they provide.
    """


def main() -> None:
    cli(prog_name="i2i")


for command in (catalog.plugins_command, catalog.list_command, catalog.info_command, train.train_command, test.test_command,
                translate.translate_command, data.data_group, hub.push_command, hub.pull_command,
                export.export_command, eval.eval_command, serve.serve_command,
                study.study_group):
    cli.add_command(command)
