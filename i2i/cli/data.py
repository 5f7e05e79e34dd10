"""`i2i data get|list|info|prepare`: fetch task data into the cache, show it, or prepare your own copy."""

from __future__ import annotations

import json

import click

from i2i.cli.options import ComponentName, quiet_option
from i2i.data.fetch import KINDS, MIRROR_ENV
from i2i.data.location import cached_root, is_complete, location_name, read_marker


def _task(name: str):
    from i2i.core.plugin_manager import get_registry

    return get_registry().resolve("tasks", name)


def _announcer(quiet: bool):
    return (lambda _message: None) if quiet else (lambda message: click.echo(message, err=True))


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def _status(task) -> dict:
    from i2i.data.cache import trusted_digest

    root = cached_root(task)
    sources = []
    for source in task.sources:
        entry = {"kind": source.kind, "location": source.location, "base": source.base, "sha256": source.sha256,
                 "size": source.size, "note": source.note}
        if source.kind == "url" and not source.sha256:
            entry["trusted_sha256"] = trusted_digest(location_name(source.location))
        sources.append(entry)
    cached = is_complete(root)
    return {"task": task.name, "layout": task.layout, "path": str(root), "cached": cached,
            "prepared": read_marker(root) if cached else None, "sources": sources}


def _sources_line(status: dict) -> str:
    if status["layout"] in ("photos", "auto") and not status["sources"]:
        return f"any folder of {'photos' if status['layout'] == 'photos' else 'pairs'} (--data DIR)"
    return ", ".join(f"{s['kind']} {location_name(s['location']) if s['kind'] == 'url' else s['location']}"
                     for s in status["sources"]) or "none (i2i data prepare / --data DIR)"


@click.group("data")
def data_group() -> None:
    """Download, inspect and prepare task data in the cache ($I2I_HOME/data).

    Archives come from the task's download server (the paper's tasks: the public pix2pix server; or a
    mirror: --mirror URL or $I2I_DATA_MIRROR), or from Hugging Face Hub datasets; `i2i train --task T` then finds them without --data.
    """


@data_group.command("get")
@click.argument("task", type=ComponentName("tasks"))
@click.option("--mirror", metavar="URL", help=f"Base URL replacing the task's archive server (for the paper's tasks the pix2pix datasets "
                   f"server) [${MIRROR_ENV}].")
@click.option("--source", "kind", type=click.Choice(KINDS), help="Use only this kind of source [url sources, then hub].")
@quiet_option("No progress output.")
def get_command(task: str, mirror: str | None, kind: str | None, quiet: bool) -> None:
    """Download TASK's data, verify and extract it into the cache (nothing to do if it is there)."""
    from i2i.data.fetch import get_task_data

    root = get_task_data(_task(task), mirror=mirror, kind=kind, progress=not quiet, announce=_announcer(quiet))
    click.echo(f"{task}: {root}")


@data_group.command("prepare")
@click.argument("task", type=ComponentName("tasks"))
@click.option("--from", "path", required=True, type=click.Path(exists=True),
              help="An archive you downloaded, a folder with the split folders, or your copy in the "
                   "layout the task's prepare step reads (e.g. Cityscapes' leftImg8bit/ + gtFine/, KAIST's setXX/).")
@quiet_option("No progress output.")
def prepare_command(task: str, path: str, quiet: bool) -> None:
    """Put your own copy of TASK's data into the cache (replacing any copy there).

    Examples: `i2i data prepare cityscapes --from ~/cityscapes` (holding leftImg8bit/ and gtFine/)
    writes 256x256 photo|labels pairs in train/ and val/; `i2i data prepare thermal2color --from ~/kaist`.
    """
    from i2i.data.fetch import prepare_from

    root = prepare_from(_task(task), path, announce=_announcer(quiet))
    click.echo(f"{task}: {root}")


@data_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """Tasks, where their data comes from, and whether it is in the cache (with its size)."""
    from i2i.core.plugin_manager import get_registry

    statuses = [_status(entry.resolve()) for entry in get_registry().list("tasks")]
    if as_json:
        click.echo(json.dumps(statuses, indent=2))
        return
    width = max((len(status["task"]) for status in statuses), default=0)
    for status in statuses:
        cached = f"cached {_human(status['prepared'].get('bytes', 0))}" if status["cached"] else "not cached"
        click.echo(f"{status['task']:<{width}}  {cached:<16}  {_sources_line(status)}")


@data_group.command("info")
@click.argument("task", type=ComponentName("tasks"))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_command(task: str, as_json: bool) -> None:
    """TASK's data: cache folder and state, sources with checksums, and the URL a download would use."""
    from i2i.data.fetch import source_url

    status = _status(_task(task))
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    prepared = status["prepared"]
    click.echo(f"task:    {status['task']} ({status['layout']} layout)")
    click.echo(f"cache:   {status['path']}")
    if prepared is not None:
        splits = ", ".join(f"{k} {v}" for k, v in prepared.get("splits", {}).items())
        click.echo(f"state:   prepared, {prepared.get('files', '?')} files, {_human(prepared.get('bytes', 0))}"
                   f" from {prepared.get('source', '?')} {prepared.get('location', '')}"
                   + (f" ({splits})" if splits else ""))
    else:
        click.echo(f"state:   not cached ({_sources_line(status)})")
    for source in status["sources"]:
        where = source_url(source["location"], source["base"]) if source["kind"] == "url" else source["location"]
        click.echo(f"source:  {source['kind']} {where}")
        digest = source["sha256"] or source.get("trusted_sha256")
        if source["kind"] == "url":
            origin = "given" if source["sha256"] else ("recorded on first download" if digest else "trust on first use")
            click.echo(f"         sha256 {digest or '-'} ({origin}), size {source['size'] or 'unknown'}")
        if source["note"]:
            click.echo(f"         {source['note']}")
