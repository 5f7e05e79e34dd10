"""Models on the Hugging Face Hub: push a model dir in one commit, pull one into the Hugging Face cache.

``ORG/NAME[@REV]`` names a Hub model repo (``REV``: a branch, tag or commit sha); :mod:`i2i.models.resolver` decides
whether a MODEL is one (ids of registered model sources come first). The cache, endpoint, token and offline
switch are huggingface_hub's own (``HF_HOME``, ``HF_HUB_CACHE``, ``HF_ENDPOINT``, ``HF_TOKEN``,
``HF_HUB_OFFLINE``). Pulled files are read as data only: safetensors weights and a validated config.json.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from i2i.core.errors import DataError, I2IError
from i2i.models.modelcard import CARD, SAMPLE, model_card
from i2i.models.modeldir import CONFIG, WEIGHTS, load_config, local_model_dir

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_HUB_ID = re.compile(rf"(?P<repo>{_NAME}/{_NAME})(?:@(?P<revision>[A-Za-z0-9][\w./-]*))?")
MODEL_FILES = [CONFIG, WEIGHTS, CARD, "*.png"]
PUSHED_FILES = (CONFIG, WEIGHTS, CARD, SAMPLE)  # a model dir's own files: nothing else is pushed unasked
TRAINING_STATE = "training"


class HubError(I2IError):
    """The Hub refused a request, or cannot be reached."""


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    revision: str
    commit: str
    url: str
    files: tuple[str, ...]


def parse_hub_id(spec: str) -> tuple[str, str | None] | None:
    """``(repo_id, revision)`` for ``ORG/NAME[@REV]``, else ``None``."""
    match = _HUB_ID.fullmatch(spec)
    if match is None or ".." in spec or "--" in match["repo"]:
        return None
    return match["repo"], match["revision"]


def _check_hub_id(spec: str) -> tuple[str, str | None]:
    parsed = parse_hub_id(spec)
    if parsed is None:
        raise DataError(f"{spec!r} is not a Hub model id: expected ORG/NAME or ORG/NAME@REVISION")
    return parsed


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


@contextlib.contextmanager
def hub_errors(repo_id: str, revision: str | None = None, token: str | None = None,
               pushing: bool = False) -> Iterator[None]:
    """Turn huggingface_hub and connection errors into one-line :class:`HubError`s."""
    import httpx2
    from huggingface_hub import constants, get_token
    from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    at = f"{repo_id}@{revision}" if revision else repo_id
    try:
        yield
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as exc:
        if pushing and constants.is_offline_mode():
            raise HubError(f"HF_HUB_OFFLINE is set: pushing {at} needs the network; unset it and retry") from None
        if constants.is_offline_mode():
            raise HubError(f"HF_HUB_OFFLINE is set and {at} is not in the Hugging Face cache "
                           f"({constants.HF_HUB_CACHE}); pull it once online") from None
        raise HubError(f"cannot reach the Hub at {_endpoint()} and {at} is not cached: "
                       f"{str(exc).splitlines()[0]}") from None
    except RevisionNotFoundError:
        raise HubError(f"the Hub model {repo_id} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise HubError(f"no model repo {repo_id} on the Hub at {_endpoint()} (a private one needs a token: "
                       f"--token, HF_TOKEN or `hf auth login`)") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code
        if status == 401 and token is None and get_token() is None:
            raise HubError(f"the Hub at {_endpoint()} needs a token for this: pass --token, set HF_TOKEN or "
                           f"run `hf auth login`") from None
        if status == 401:
            raise HubError(f"the Hub at {_endpoint()} rejected the token (401 Unauthorized): check --token, "
                           f"HF_TOKEN or `hf auth login`") from None
        if status == 403:
            raise HubError(f"the token may not write to {repo_id} (403 Forbidden)") from None
        raise HubError(f"the Hub answered {status} for {at}: {str(exc).strip().splitlines()[0]}") from None
    except httpx2.HTTPError as exc:
        raise HubError(f"cannot reach the Hub at {_endpoint()}: {exc}") from None


def pull(spec: str, *, token: str | None = None) -> Path:
    """A local model dir for a Hub id ``ORG/NAME[@REV]``, downloaded into the Hugging Face cache."""
    from huggingface_hub import snapshot_download

    repo_id, revision = _check_hub_id(spec)
    with hub_errors(repo_id, revision, token):
        path = Path(snapshot_download(repo_id, revision=revision, token=token, allow_patterns=MODEL_FILES))
    if not (path / CONFIG).is_file():
        raise DataError(f"the Hub repo {spec} is not an i2i model: it has no {CONFIG}")
    load_config(path)
    return path


def push_target(repo_id: str) -> str:
    """The repo id to push to; a pinned ``@REV`` is refused (the branch is ``--revision``)."""
    repo, pinned = _check_hub_id(repo_id)
    if pinned:
        raise DataError(f"name the branch with --revision, not in the repo id ({repo_id})")
    return repo


def _inside(file: Path, folder: Path, source: Path) -> Path:
    """``file``, after checking that it is a regular file that stays inside ``folder`` (no symlink out)."""
    if not file.resolve().is_relative_to(folder.resolve()):
        raise DataError(f"refusing to push {file}: it leads to {file.resolve()}, outside {source}; "
                        f"copy the file in if you mean to publish it")
    if not file.is_file():
        raise DataError(f"refusing to push {file}: it is not a regular file")
    return file


def upload_plan(source: Path | str, repo_id: str, *, include: tuple[str, ...] = (),
                with_training_state: bool = False) -> dict[str, Path | bytes]:
    """``path in repo -> local file or bytes``: what :func:`push` uploads from a run dir or model dir.

    Only the model format's own files (:data:`PUSHED_FILES`) and files matching an ``include`` glob
    (relative to the model dir) go; a file that resolves outside the folder (a symlink out) is refused.
    """
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"cannot push {source}: it is not a folder")
    model_dir = local_model_dir(source)
    config = load_config(model_dir)
    chosen = [model_dir / name for name in PUSHED_FILES if (model_dir / name).is_symlink() or (model_dir / name).exists()]
    for pattern in include:
        parts = Path(pattern).parts
        if Path(pattern).is_absolute() or ".." in parts:
            raise DataError(f"--include {pattern!r} must be a pattern relative to the model dir, without '..'")
        hidden_ok = parts[-1].startswith(".")  # '*' does not pick up hidden files; '.name' does
        matches = [path for path in sorted(model_dir.glob(pattern))
                   if not path.is_dir() and (hidden_ok or not path.name.startswith("."))]
        if not matches:
            raise DataError(f"--include {pattern!r} matches no file in {model_dir}")
        chosen += matches
    plan: dict[str, Path | bytes] = {
        path.relative_to(model_dir).as_posix(): _inside(path, model_dir, source) for path in chosen}
    if CARD not in plan:
        plan[CARD] = str(model_card(config, model_id=repo_id)).encode()
    if with_training_state:
        if model_dir == source:
            raise DataError(f"--with-training-state needs a run dir; {source} is a model dir")
        for name in ("checkpoints/latest.safetensors", "config.json"):
            if not (source / name).is_file():
                raise DataError(f"cannot push the training state: {source / name} is missing")
            plan[f"{TRAINING_STATE}/{Path(name).name}"] = _inside(source / name, source, source)
    return plan


def left_out(source: Path | str, plan: dict[str, Path | bytes]) -> list[str]:
    """Names of the files in the model dir that ``plan`` does not upload (to tell the user)."""
    model_dir = local_model_dir(source)
    return sorted(path.name for path in model_dir.iterdir() if path.name not in plan)


def push(source: Path | str, repo_id: str, *, private: bool = False, revision: str | None = None,
         token: str | None = None, with_training_state: bool = False, include: tuple[str, ...] = ()) -> PushResult:
    """Upload a model dir (or a run dir's model, optionally with its training state) to ``repo_id`` in one commit.

    What goes is :func:`upload_plan`'s list. The repo is created if needed; a ``revision`` other than
    ``main`` is created as a branch.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    repo = push_target(repo_id)
    plan = upload_plan(source, repo, include=include, with_training_state=with_training_state)
    branch = revision or "main"
    api = HfApi(token=token)
    with hub_errors(repo, branch, token, pushing=True):
        api.create_repo(repo, private=private, exist_ok=True)
        if branch != "main":
            api.create_branch(repo, branch=branch, exist_ok=True)
        operations = [CommitOperationAdd(name, str(data) if isinstance(data, Path) else data)
                      for name, data in plan.items()]
        what = " with training state" if with_training_state else ""
        info = api.create_commit(repo, operations=operations, revision=branch,
                                 commit_message=f"Upload i2i model{what}")
    return PushResult(repo, branch, info.oid, info.commit_url, tuple(plan))
