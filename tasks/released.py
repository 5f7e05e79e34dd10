"""The authors' released pix2pix PyTorch generators: a catalogue, a model source, conversion into model dirs.

Each is an id ``pix2pix/<name>``, offered to every command that takes MODEL through the model source this
plugin registers as ``pix2pix`` (hook ``register_model_sources``; see :mod:`i2i.models.resolver`). Its ``.pth`` comes from ``$I2I_PIX2PIX_MODELS_URL/<name>.pth`` (default:
the authors' server), is read with ``torch.load(weights_only=True)`` only, converted from the port's
layout by the registered ``unet`` generator, and stored as a model dir in ``$I2I_HOME/models/pix2pix/<name>``.
Its shapes must be the released network's (channels included) and its values finite. The ``.pth``'s SHA-256 is
trusted on first use: recorded in ``$I2I_HOME/manifest.json`` (section ``models``) once it converted, and
every later download must match it.
Importing this module is light (no torch): tasks list their checkpoints from :data:`RELEASED`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from i2i.api import (Checkpoint, ChecksumError, ConfigError, DataError, DownloadError, cache_lock, download, hookimpl,
                     i2i_home, pinned_mismatch, trust, trusted_digest)

NAMESPACE = "pix2pix"
BASE_URL_ENV = "I2I_PIX2PIX_MODELS_URL"
DEFAULT_BASE_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch"
GENERATOR = "unet"
# unet256 with batch norm and the port's dropout placement: every released file is this network.
GENERATOR_ARGS = {"ngf": 64, "num_downs": 8, "norm": "batch"}
LOAD_SIZE, CROP_SIZE = 286, 256


@dataclass(frozen=True)
class ReleasedModel:
    """One released generator. ``direction`` is relative to the task's public archive (its A and B)."""

    name: str
    task: str
    direction: str
    description: str
    in_channels: int = 3
    out_channels: int = 3

    @property
    def id(self) -> str:
        return f"{NAMESPACE}/{self.name}"

    @property
    def file(self) -> str:
        return f"{self.name}.pth"

    def url(self) -> str:
        """Where to download the ``.pth``: ``$I2I_PIX2PIX_MODELS_URL`` (a mirror) or the authors' server."""
        return f"{(os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip('/')}/{self.file}"

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.id, f"{DEFAULT_BASE_URL}/{self.file}", self.description)


RELEASED: dict[str, ReleasedModel] = {model.id: model for model in (
    ReleasedModel("facades_label2photo", "facades", "BtoA", "CMP Facades: architectural labels -> photo"),
    ReleasedModel("sat2map", "maps", "AtoB", "Google Maps: aerial photo -> map"),
    ReleasedModel("map2sat", "maps", "BtoA", "Google Maps: map -> aerial photo"),
    ReleasedModel("edges2shoes", "edges2shoes", "AtoB", "UT Zappos50K: edges -> shoe photo"),
    ReleasedModel("day2night", "night2day", "BtoA", "Transient Attributes webcams: day -> night"),
)}


def released_dir(model: ReleasedModel) -> Path:
    return i2i_home() / "models" / NAMESPACE / model.name


def fetch_released(model_id: str) -> Path:
    """The converted model dir of a released checkpoint, downloading and converting it on first use."""
    from huggingface_hub.constants import is_offline_mode

    model = RELEASED[model_id]
    target = released_dir(model)
    if (target / "config.json").is_file():
        return target
    if is_offline_mode():
        raise DataError(f"{model.id} is not converted yet ({target} is missing) and HF_HUB_OFFLINE is set; "
                        f"pull it once online")
    with cache_lock(f"model-{NAMESPACE}-{model.name}"):  # one process downloads and converts
        if (target / "config.json").is_file():
            return target
        weights = target.parent / ".downloads" / model.file  # a broken-off download resumes from here
        expected = trusted_digest(model.id, "models")
        try:
            digest = download(model.url(), weights, sha256=expected)
        except ChecksumError as exc:
            raise pinned_mismatch(exc) from None
        except DownloadError as exc:
            raise DownloadError(f"{exc} (set {BASE_URL_ENV} to a mirror's base URL)") from None
        staging = target.with_name(f".{target.name}.building-{os.getpid()}")
        try:
            convert_port_checkpoint(weights, staging, model)
            trust(model.id, digest, model.url(), weights.stat().st_size, "models")
            shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            weights.unlink(missing_ok=True)
    return target


def convert_port_checkpoint(weights: Path, model_dir: Path, model: ReleasedModel) -> Path:
    """Write the model dir (weights, config, model card) for a released ``.pth`` in the port's layout."""
    from i2i.api import check_finite, get_registry, load_pth_state, model_config, save_model_dir, write_model_card

    state = load_pth_state(weights, model.url())
    check_finite(state, model.url())
    try:
        generator = get_registry().resolve("generators", GENERATOR).from_port_state_dict(
            state, in_channels=model.in_channels, out_channels=model.out_channels, **GENERATOR_ARGS)
    except ConfigError as exc:
        raise DataError(f"{model.url()}: {exc}") from exc
    config = model_config(GENERATOR, GENERATOR_ARGS, in_channels=model.in_channels, out_channels=model.out_channels,
                          load_size=LOAD_SIZE, crop_size=CROP_SIZE, task=model.task, direction=model.direction,
                          inference_mode="paper", dataset=model.task)
    save_model_dir(model_dir, generator.state_dict(), config)
    return write_model_card(model_dir, source_url=model.url(), model_id=model.id)


class ReleasedSource:
    """The model source ``pix2pix``: the released generators by name, converted on first use."""

    def models(self) -> dict[str, str]:
        """``{name: description}`` of every released generator (its id is ``pix2pix/<name>``)."""
        return {model.name: model.description for model in RELEASED.values()}

    def fetch(self, name: str) -> Path:
        """The converted model dir of ``pix2pix/<name>``, downloading and converting it on first use."""
        return fetch_released(f"{NAMESPACE}/{name}")

    def as_dict(self) -> dict:
        """What ``i2i info pix2pix`` shows: the ids and where the files come from."""
        return {"models": {model.id: model.description for model in RELEASED.values()},
                "base_url": os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, "cache": str(i2i_home() / "models")}


SOURCE = ReleasedSource()


@hookimpl
def register_model_sources(register):
    register(NAMESPACE, "i2i_tasks.released:SOURCE",
             description="The authors' released pix2pix generators (pix2pix/NAME), converted on first use")
