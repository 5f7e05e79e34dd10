"""Plugin discovery on pluggy: entry points in group ``i2i``, each loaded and called in isolation.

Environment:
  I2I_PLUGINS         which plugins load: comma-separated entry point or distribution names, shell-style
                      patterns allowed. The built-in plugins (distribution i2i-pix2pix) always load unless
                      excluded; a name loads that third-party plugin (the others are skipped); ``-NAME`` skips
                      a plugin, built-in or not; a list of exclusions only starts from every plugin;
                      a name that matches no installed plugin is warned about.
                      Unset: every installed plugin. ``mine``: the built-ins and mine. Empty: the built-ins
                      only. ``-clash``: all but clash. ``mine,-i2i-pix2pix``: mine alone. ``-*``: none.
  I2I_STRICT_PLUGINS  "1": a failing plugin raises instead of warning, and unknown hooks fail
                      (``check_pending``).
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable

import pluggy

from i2i.core import hookspecs
from i2i.core.errors import PluginLoadError, RegistryConflictError
from i2i.core.registry import KINDS, SINGULAR, Entry, Registry, Source

GROUP = "i2i"
ENV_PLUGINS = "I2I_PLUGINS"
ENV_STRICT = "I2I_STRICT_PLUGINS"
BUILTIN_DISTRIBUTION = "i2i-pix2pix"
_HOOK_OF_KIND = {kind: f"register_{kind}" for kind in KINDS}


@dataclass
class PluginInfo:
    """What one plugin is and what it registered."""

    source: Source
    module: str
    registers: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.source.plugin,
            "distribution": self.source.distribution,
            "version": self.source.version,
            "module": self.module,
            "hooks": self.hooks,
            "registers": self.registers,
        }


def _canonical(name: str) -> str:
    """A distribution name as packaging compares them: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Selection:
    """Which entry points load (see ``I2I_PLUGINS`` in the module docstring)."""

    named: tuple[str, ...] | None = None  # third-party plugins to load; None: all of them
    excluded: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> "Selection":
        if value is None:
            return cls()
        parts = [part.strip() for part in value.split(",") if part.strip()]
        named = tuple(part for part in parts if not part.startswith("-"))
        excluded = tuple(part[1:].strip() for part in parts if part.startswith("-"))
        return cls(None if excluded and not named else named, excluded)

    def loads(self, source: Source) -> bool:
        if any(_matches(source, pattern) for pattern in self.excluded):
            return False
        builtin = _canonical(source.distribution) == BUILTIN_DISTRIBUTION
        return builtin or self.named is None or any(_matches(source, pattern) for pattern in self.named)

    def unmatched(self, sources: list[Source]) -> list[str]:
        """The names and patterns that match no installed plugin (most likely typos)."""
        return [pattern for pattern in (*(self.named or ()), *self.excluded)
                if not any(_matches(source, pattern) for source in sources)]


def _matches(source: Source, pattern: str) -> bool:
    return (fnmatch.fnmatchcase(source.plugin, pattern)
            or fnmatch.fnmatchcase(_canonical(source.distribution), _canonical(pattern)))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class PluginSet:
    """The loaded plugins and the registry they filled."""

    def __init__(self, strict: bool | None = None) -> None:
        self.strict = os.environ.get(ENV_STRICT, "") not in ("", "0") if strict is None else strict
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}
        self.warnings: list[str] = []

    def load_entry_points(self) -> "PluginSet":
        """Import, register and call every selected entry point; failures warn (or raise when strict)."""
        selection = Selection.parse(os.environ.get(ENV_PLUGINS))
        installed = sorted(entry_points(group=GROUP), key=lambda e: e.name)
        sources = [Source(ep.name, ep.dist.name if ep.dist else "unknown", ep.dist.version if ep.dist else "unknown")
                   for ep in installed]
        for name in selection.unmatched(sources):
            self._warn(f"{ENV_PLUGINS} names {name!r}, which matches no installed plugin "
                       f"(installed: {', '.join(sorted({s.plugin for s in sources}))})")
        for ep, source in zip(installed, sources):
            if not selection.loads(source):
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must never break the CLI
                self._fail(source, "failed to import", exc)
                continue
            self.add(module, source)
        if self.strict:
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                raise PluginLoadError(_one_line(exc)) from exc
        return self

    def add(self, plugin: Any, source: Source) -> None:
        """Register one plugin object (a module or any object with hookimpls) and collect what it registers."""
        try:
            self.pm.register(plugin, name=source.plugin)
        except Exception as exc:
            self._fail(source, "failed to register", exc)
            return
        info = PluginInfo(source, getattr(plugin, "__name__", type(plugin).__name__))
        info.hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or ())
        self.plugins[source.plugin] = info
        for kind, hook_name in _HOOK_OF_KIND.items():
            added: list[Entry] = []
            if self._call(plugin, hook_name, source, register=self._register_callback(kind, source, added)):
                if added:
                    info.registers[kind] = [entry.name for entry in added]
            else:  # a hook that failed half-way leaves nothing behind
                for entry in added:
                    self.registry.remove(entry)

    def _register_callback(self, kind: str, source: Source, added: list[Entry]) -> Callable[..., None]:
        def register(name, target, *, aliases=(), description="", override=False):
            added.append(
                self.registry.add(
                    kind, name, target, source=source, aliases=aliases, description=description, override=override
                )
            )

        register.__doc__ = f"Register a {SINGULAR[kind]}: register{hookspecs.REGISTER_SIGNATURE}"
        return register

    def _call(self, plugin: Any, hook_name: str, source: Source, **kwargs: Any) -> bool:
        """Call ``plugin``'s implementation of one hook; report a failure against that plugin."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except RegistryConflictError:  # two distributions claim one name: the user must choose
                raise
            except Exception as exc:
                self._fail(source, f"failed in {hook_name}", exc)
                return False
        return True

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add click commands to ``cli``; what each added is recorded in its ``registers``."""
        for info in self.plugins.values():
            before = set(cli.commands)
            self._call(self.pm.get_plugin(info.source.plugin), "register_commands", info.source, cli=cli)
            if added := sorted(set(cli.commands) - before):
                info.registers["commands"] = added

    def _fail(self, source: Source, what: str, exc: BaseException) -> None:
        self._warn(f"plugin {source.plugin!r} from {source.distribution} {source.version} {what}: {_one_line(exc)}",
                   exc)

    def _warn(self, message: str, cause: BaseException | None = None) -> None:
        """One warning line on stderr (a PluginLoadError when strict)."""
        if self.strict:
            raise PluginLoadError(message) from cause
        self.warnings.append(message)
        print(f"i2i: warning: {message}", file=sys.stderr)


_current: PluginSet | None = None


def get_plugins() -> PluginSet:
    """The process-wide plugin set, loaded from entry points on first use."""
    global _current
    if _current is None:
        _current = PluginSet().load_entry_points()
    return _current


def plugin_versions() -> dict[str, str]:
    """``{distribution: version}`` of the loaded plugins (provenance for configs and model cards)."""
    return {info.source.distribution: info.source.version for info in get_plugins().plugins.values()}


def get_registry() -> Registry:
    return get_plugins().registry


def reset_plugins() -> None:
    """Forget the loaded plugins (tests, or after installing a plugin in-process)."""
    global _current
    _current = None
