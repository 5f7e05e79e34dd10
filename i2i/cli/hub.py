"""`i2i push DIR ORG/NAME` and `i2i pull ORG/NAME[@REV]`: share models through the Hugging Face Hub."""

from __future__ import annotations

import click

from i2i.cli.options import checkpoint_option
from i2i.core.errors import ConfigError


@click.command("push")
@click.argument("source", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.argument("repo_id", metavar="ORG/NAME")
@click.option("--private", is_flag=True, help="Create the repo private (an existing repo keeps its visibility).")
@click.option("--revision", metavar="BRANCH", help="Branch to commit to, created if missing [main].")
@click.option("--token", help="Hugging Face token with write access [HF_TOKEN, or the one `hf auth login` saved].")
@click.option("--with-training-state", is_flag=True,
              help="Also upload the run's checkpoints/latest.safetensors and config.json under training/.")
@click.option("--include", "include", multiple=True, metavar="PATTERN",
              help="Also upload the model dir's files matching this glob (repeatable), e.g. --include 'extra/*.png'.")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded, and stop.")
@checkpoint_option
def push_command(source, repo_id, private, revision, token, with_training_state, include, dry_run, checkpoint) -> None:
    """Upload DIR (a model dir, or a run dir's model/) to the Hub model repo ORG/NAME in one commit.

    Only the model's own files go: model.safetensors, config.json, README.md and samples.png (plus what
    --include adds); they are listed first. A file that leads outside DIR (a symlink out) is refused.
    The repo is created if it does not exist. A model dir without a README.md gets a generated model card.
    A run dir pushes its final generator (model/), or with --checkpoint best|latest|epoch_N that
    checkpoint's generator (with a model card and that epoch's sample grid).
    """
    from i2i.models.hub import push
    from i2i.models.resolver import resolve_model

    if checkpoint is not None and with_training_state:
        raise ConfigError("--with-training-state uploads the run's latest state beside model/; "
                          "push a --checkpoint without it")
    model = source if checkpoint is None else resolve_model(source, checkpoint)
    _list_upload(model, repo_id, include, with_training_state)
    if dry_run:
        click.echo("dry run: nothing uploaded", err=True)
        return
    result = push(model, repo_id, private=private, revision=revision, token=token,
                  with_training_state=with_training_state, include=include)
    click.echo(f"pushed {len(result.files)} files to {result.repo_id}@{result.revision}: commit {result.commit}",
               err=True)
    click.echo(result.url)


def _list_upload(source, repo_id: str, include: tuple[str, ...], with_training_state: bool) -> None:
    """Print every file the push will upload, and the model dir's files it leaves out."""
    from pathlib import Path

    from i2i.models.hub import left_out, push_target, upload_plan

    plan = upload_plan(source, push_target(repo_id), include=include, with_training_state=with_training_state)
    click.echo(f"uploading {len(plan)} files to {repo_id}:", err=True)
    for name, data in plan.items():
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        origin = "" if isinstance(data, Path) else " (generated)"
        click.echo(f"  {name}  {size:,} bytes{origin}", err=True)
    skipped = left_out(source, plan)
    if skipped:
        click.echo(f"not uploaded (add with --include): {', '.join(skipped)}", err=True)


@click.command("pull")
@click.argument("model_id", metavar="ORG/NAME[@REV]")
@click.option("--token", help="Hugging Face token, for private repos [HF_TOKEN, or the one `hf auth login` saved].")
def pull_command(model_id, token) -> None:
    """Download a model into the Hugging Face cache and print its local path.

    ORG/NAME[@REV] is a Hub model repo (REV: a branch, tag or commit sha), or an id a plugin's model source
    offers (`i2i list model_sources`; `i2i info SOURCE` lists its ids), such as pix2pix/sat2map, one of the
    authors' released checkpoints. Commands that take MODEL pull on demand; with HF_HUB_OFFLINE=1 only cached
    models are used.
    """
    from i2i.models.resolver import fetch_model

    click.echo(fetch_model(model_id, token=token))
