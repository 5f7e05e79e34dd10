"""Named components by kind: get by name or alias, wildcard listing, provenance, lazy resolution."""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from i2i.core.errors import RegistryConflictError, UnknownComponentError

KINDS = ("generators", "discriminators", "losses", "tasks", "metrics", "trackers", "model_sources")
SINGULAR = {"generators": "generator", "discriminators": "discriminator", "losses": "loss", "tasks": "task",
            "metrics": "metric", "trackers": "tracker", "model_sources": "model_source"}
_PLURAL = {singular: kind for kind, singular in SINGULAR.items()}
_GLOB_CHARS = frozenset("*?[")


def import_target(target: str) -> Any:
    """Import a lazy ``"module:attr"`` (or ``"module"``) reference."""
    module_name, _, attr = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def name_matches(name: str, pattern: str) -> bool:
    """``pattern`` as a glob when it has wildcards, else as a case-insensitive substring of ``name``."""
    if _GLOB_CHARS & set(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern.lower() in name.lower()


def normalize_kind(kind: str) -> str:
    """Accept ``generator`` or ``generators``; return the plural registry kind."""
    kind = kind.lower()
    if kind in KINDS:
        return kind
    if kind in _PLURAL:
        return _PLURAL[kind]
    raise UnknownComponentError(f"unknown kind {kind!r}; kinds are: {', '.join(KINDS)}")


@dataclass(frozen=True)
class Source:
    """Which plugin (entry point name) of which distribution registered something."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version} (plugin {self.plugin!r})"


@dataclass
class Entry:
    """One registered component. ``target`` is an object or a lazy ``"module:attr"`` string."""

    kind: str
    name: str
    target: Any
    source: Source
    aliases: tuple[str, ...] = ()
    description: str = ""
    _resolved: Any = field(default=None, repr=False)

    @property
    def singular(self) -> str:
        return SINGULAR[self.kind]

    def resolve(self) -> Any:
        """The registered object, importing a lazy ``"module:attr"`` target on first use.

        A declarative object with a ``name`` field (a task) takes its registration name, so a task registered
        under a key that differs from ``Task.name`` is found by that key wherever its name is used.
        """
        if self._resolved is None:
            target = import_target(self.target) if isinstance(self.target, str) else self.target
            self._resolved = _named(target, self.name)
        return self._resolved

    def as_dict(self) -> dict:
        return {
            "kind": self.singular,
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "plugin": self.source.plugin,
            "distribution": self.source.distribution,
            "version": self.source.version,
        }


def _named(target: Any, name: str) -> Any:
    """``target`` with ``name`` as its name when it is a dataclass instance with a different ``name`` field."""
    if is_dataclass(target) and not isinstance(target, type) and "name" in {f.name for f in fields(target)} \
            and target.name != name:
        return replace(target, name=name)
    return target


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _describe(target: Any) -> str:
    if isinstance(target, str):
        return ""
    text = getattr(target, "description", None)
    if isinstance(text, str) and text:
        return text
    doc = getattr(target, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry:
    """Components of every kind, keyed by name; aliases point at names."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

    def add(
        self,
        kind: str,
        name: str,
        target: Any,
        *,
        source: Source,
        aliases: tuple[str, ...] | list[str] = (),
        description: str = "",
        override: bool = False,
    ) -> Entry:
        """Register ``target`` under ``name``; a name taken by another plugin is a conflict unless ``override``."""
        kind = normalize_kind(kind)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{source}: a {SINGULAR[kind]} name must be a non-empty string, got {name!r}")
        entry = Entry(kind, name, target, source, tuple(aliases), description or _describe(target))
        for key in (name, *entry.aliases):
            existing = self._lookup(kind, key)
            if existing is None or existing.source.plugin == source.plugin:
                continue
            if not override:
                raise RegistryConflictError(
                    f"{SINGULAR[kind]} {key!r} is registered by both {existing.source} and {source}; "
                    f"uninstall one, or skip one: I2I_PLUGINS=-{existing.source.plugin} or I2I_PLUGINS=-{source.plugin}"
                )
            self.remove(existing)
        self._entries[kind][name] = entry
        for alias in entry.aliases:
            self._aliases[kind][alias] = name
        return entry

    def remove(self, entry: Entry) -> None:
        self._entries[entry.kind].pop(entry.name, None)
        for alias in entry.aliases:
            self._aliases[entry.kind].pop(alias, None)

    def _lookup(self, kind: str, key: str) -> Entry | None:
        entries = self._entries[kind]
        return entries.get(key) or entries.get(self._aliases[kind].get(key, ""))

    def get(self, kind: str, name: str) -> Entry:
        """The entry for ``name`` or an alias; unknown names raise with the closest matches."""
        kind = normalize_kind(kind)
        entry = self._lookup(kind, name)
        if entry is None:
            raise UnknownComponentError(self._unknown_message(kind, name))
        return entry

    def resolve(self, kind: str, name: str) -> Any:
        return self.get(kind, name).resolve()

    def _unknown_message(self, kind: str, name: str) -> str:
        hint = _did_you_mean(name, [*self._entries[kind], *self._aliases[kind]])
        return f"unknown {SINGULAR[kind]} {name!r}{hint} (run `i2i list {kind}` to see all)"

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[normalize_kind(kind)])

    def list(self, kind: str | None = None, pattern: str = "*") -> list[Entry]:
        """Entries whose name or an alias matches ``pattern``, sorted by kind then name.

        A pattern with ``*``, ``?`` or ``[`` is a shell-style glob over the whole name; any other pattern
        matches names that contain it, ignoring case (``unet`` finds ``unet`` and ``unet_128``).
        """
        kinds = KINDS if kind is None else (normalize_kind(kind),)
        found = []
        for k in kinds:
            for entry in sorted(self._entries[k].values(), key=lambda e: e.name):
                if any(name_matches(n, pattern) for n in (entry.name, *entry.aliases)):
                    found.append(entry)
        return found

    def find(self, name: str) -> list[Entry]:
        """Entries of any kind called ``name`` (or aliased so); unknown raises with suggestions."""
        found = [e for k in KINDS if (e := self._lookup(k, name)) is not None]
        if found:
            return found
        hint = _did_you_mean(name, [n for k in KINDS for n in (*self._entries[k], *self._aliases[k])])
        raise UnknownComponentError(f"no component called {name!r}{hint} (run `i2i list` to see all)")
