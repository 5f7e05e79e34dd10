"""`i2i plugins`, `i2i list`, `i2i info`: what is installed and what it provides."""

from __future__ import annotations

import inspect
import json
from typing import Any

import click

from i2i.core.errors import UnknownComponentError
from i2i.core.registry import KINDS, Entry, normalize_kind


def _registry():
    from i2i.core.plugin_manager import get_registry

    return get_registry()


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins: distribution, version and the names each registers."""
    from i2i.core.plugin_manager import get_plugins

    infos = [info.as_dict() for info in get_plugins().plugins.values()]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    for info in infos:
        click.echo(f"{info['name']}  ({info['distribution']} {info['version']}, {info['module']})")
        for kind, names in info["registers"].items():
            click.echo(f"    {kind}: {', '.join(names)}")


def _split_kind(kind_or_pattern: str | None, pattern: str | None) -> tuple[str | None, str]:
    if kind_or_pattern is None:
        return None, pattern or "*"
    try:
        return normalize_kind(kind_or_pattern), pattern or "*"
    except UnknownComponentError:
        if pattern is not None:
            raise
        return None, kind_or_pattern


@click.command("list")
@click.argument("kind", required=False, metavar="[KIND]")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str | None, pattern: str | None, as_json: bool) -> None:
    """List registered components, optionally of one KIND and matching PATTERN.

    KIND is one of generators, discriminators, losses, tasks, metrics, trackers, model_sources. PATTERN is
    a shell-style glob when it holds * ? or [, else a case-insensitive part of the name or an alias. Examples:
    `i2i list`, `i2i list tasks`, `i2i list discriminators 'patch*'`, `i2i list edges`.
    """
    kind, pattern = _split_kind(kind, pattern)
    entries = _registry().list(kind, pattern)
    if as_json:
        click.echo(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    current = None
    for entry in entries:
        if entry.kind != current:
            current = entry.kind
            click.echo(f"{current}:")
        aliases = f" (aliases: {', '.join(entry.aliases)})" if entry.aliases else ""
        click.echo(f"  {entry.name:<24} {entry.description}{aliases}")
    if not entries:
        click.echo("nothing matches" + (f" {pattern!r}" if pattern != "*" else "")
                   + f" (kinds: {', '.join(KINDS)})")


def _options(target: Any) -> dict[str, Any]:
    """Constructor options of a class target with their defaults (JSON-able)."""
    if not inspect.isclass(target):
        return {}
    options = {}
    for name, param in inspect.signature(target).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        options[name] = None if param.default is param.empty else param.default
    return options


def _facts(entry: Entry) -> dict[str, Any]:
    target = entry.resolve()
    facts: dict[str, Any] = {}
    if hasattr(target, "as_dict") and not inspect.isclass(target):
        facts.update(target.as_dict())
    if hasattr(target, "info") and inspect.isclass(target):
        facts.update(target.info())
    options = _options(target)
    if options:
        facts["options"] = options
    return facts


@click.command("info")
@click.argument("name")
@click.option("--kind", help="Only look among this kind (when a name exists in several).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_command(name: str, kind: str | None, as_json: bool) -> None:
    """Describe a component: what it is, its options and facts, and which plugin provides it."""
    registry = _registry()
    entries = [registry.get(kind, name)] if kind else registry.find(name)
    records = [{**entry.as_dict(), **_facts(entry)} for entry in entries]
    if as_json:
        click.echo(json.dumps(records, indent=2, default=str))
        return
    for record in records:
        click.echo(f"{record.pop('kind')} {record.pop('name')}: {record.pop('description')}")
        for key, value in record.items():
            if value in ([], None, ""):
                continue
            if isinstance(value, dict):
                click.echo(f"  {key}:")
                for sub_key, sub_value in value.items():
                    click.echo(f"    {sub_key}: {json.dumps(sub_value, default=str, ensure_ascii=False)}")
            else:
                click.echo(f"  {key}: {json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value}")

