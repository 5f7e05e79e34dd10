"""The root click group: plugin commands on first use, library errors as one line."""

from __future__ import annotations

import click

from i2i.core.errors import I2IError


class I2IGroup(click.Group):
    """Adds plugin commands lazily and maps every :class:`I2IError` to one ``Error: ...`` line, exit 1.

    This is the one place where library errors become CLI errors.
    """

    _plugin_commands_added = False

    def _add_plugin_commands(self) -> None:
        if not self._plugin_commands_added:
            self._plugin_commands_added = True
            from i2i.core.plugin_manager import get_plugins

            get_plugins().add_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, name)

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except I2IError as exc:
            click.ClickException(str(exc)).show()
            raise SystemExit(exc.exit_code) from None
