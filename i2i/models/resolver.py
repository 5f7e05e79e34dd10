"""What a user names as MODEL → a local model dir: the one place every command and ``i2i.load`` resolve it.

MODEL is, in this order:

1. a local path: a model dir, or a run dir (its ``model/``; with ``checkpoint`` ``best|latest|epoch_N``, a
   temporary model dir holding that checkpoint's generator, see :mod:`i2i.training.checkpoint_model`);
2. ``NAME/MODEL`` offered by a model source registered as ``NAME`` (hook ``register_model_sources``, e.g.
   ``pix2pix/sat2map``, the authors' released checkpoints), fetched or converted by the source on first use;
3. a Hub id ``ORG/NAME[@REV]``, pulled into the Hugging Face cache (:mod:`i2i.models.hub`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from i2i.core.errors import DataError, UnknownComponentError


@runtime_checkable
class ModelSource(Protocol):
    """What ``register_model_sources`` registers: ready-made models under ``<registered name>/<model>``."""

    def models(self) -> Mapping[str, str]:
        """``{model: one-line description}`` of every model it offers."""

    def fetch(self, model: str) -> Path:
        """The local model dir of ``model`` (one of :meth:`models`), fetched or converted on first use."""


def registered_source(spec: str) -> tuple[ModelSource, str] | None:
    """``(source, model)`` when ``spec`` is ``NAME/MODEL`` and a model source registered as ``NAME`` offers
    ``MODEL``, else ``None``."""
    from i2i.core.plugin_manager import get_registry

    namespace, slash, model = spec.partition("/")
    if not slash:
        return None
    try:
        source = get_registry().resolve("model_sources", namespace)
    except UnknownComponentError:
        return None
    return (source, model) if model in source.models() else None


def registered_ids(namespace: str | None = None) -> list[str]:
    """Every id the registered model sources (or the one registered as ``namespace``) offer, e.g.
    ``pix2pix/sat2map``."""
    from i2i.core.plugin_manager import get_registry

    return [f"{entry.name}/{model}" for entry in get_registry().list("model_sources")
            if namespace in (None, entry.name, *entry.aliases) for model in entry.resolve().models()]


def fetch_model(spec: str, *, token: str | None = None) -> Path:
    """The local model dir for a registered source's id or a Hub id (what ``i2i pull`` does)."""
    from i2i.models.hub import HubError, parse_hub_id, pull
    from i2i.models.modeldir import local_model_dir

    found = registered_source(spec)
    if found is not None:
        source, model = found
        return local_model_dir(source.fetch(model))
    if parse_hub_id(spec) is None:
        raise DataError(f"{spec!r} is not a Hub model id (ORG/NAME or ORG/NAME@REVISION) nor an id a model source "
                        f"offers ({', '.join(registered_ids()) or 'none registered'})")
    try:
        return pull(spec, token=token)
    except HubError as exc:
        offered = registered_ids(spec.partition("/")[0])  # NAME/typo of a registered source: say what it has
        if offered:
            raise HubError(f"{exc} (model source {spec.partition('/')[0]!r} offers {', '.join(offered)})") from None
        raise


def resolve_model(model: str | Path, checkpoint: str | None = None, *, token: str | None = None) -> Path:
    """The local model dir that MODEL names (see the module docstring); a local path that exists wins."""
    from i2i.models.hub import HubError, parse_hub_id
    from i2i.models.modeldir import local_model_dir

    if checkpoint is not None:
        from i2i.training.checkpoint_model import checkpoint_model

        return checkpoint_model(model, checkpoint)
    if Path(model).exists():
        return local_model_dir(model)
    spec = str(model)
    if registered_source(spec) is None and parse_hub_id(spec) is None:
        raise DataError(f"model not found: {spec} does not exist")
    try:
        return fetch_model(spec, token=token)
    except HubError as exc:
        raise HubError(f"{spec} is not a local folder, and {exc}") from None
