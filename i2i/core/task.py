"""The Task interface: a declarative, torch-free description of one translation problem."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from i2i.core.errors import ConfigError

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
"""The PyTorch port's ``--preprocess`` modes (see :mod:`i2i.data.augment`)."""

Layout = Literal["aligned", "folders", "photos", "auto"]
Direction = Literal["AtoB", "BtoA"]


@dataclass
class Recipe:
    """The paper's training recipe for a task; CLI flags override any field (see ``TrainConfig``)."""

    epochs: int = 100
    epochs_decay: int = 100
    batch_size: int = 1
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0
    preprocess: str = "resize_and_crop"


def check_preprocess(preprocess: str, load_size: int, crop_size: int) -> None:
    """A known mode and, where it resizes then crops, a crop that fits in the load size."""
    if preprocess not in PREPROCESS_MODES:
        raise ConfigError(f"unknown --preprocess {preprocess!r}; use one of {', '.join(PREPROCESS_MODES)}")
    if crop_size <= 0 or load_size <= 0:
        raise ConfigError(f"crop size {crop_size} and load size {load_size} must be positive")
    if preprocess in ("resize_and_crop", "scale_width_and_crop") and crop_size > load_size:
        raise ConfigError(f"crop size {crop_size} must be at most the load size {load_size}")


@dataclass(frozen=True)
class DataSource:
    """Where a task's data comes from. ``kind``: url (an archive), hub (a Hub dataset) or generated.

    ``base``: for a url source, the base URL a relative ``location`` is joined to and that a mirror
    (``$I2I_DATA_MIRROR``) replaces. ``split_sizes``: for a hub source whose rows merge the original
    splits in order, each split's row count, e.g. ``(("train", 400), ("val", 100))`` (see :mod:`i2i.data.hub_datasets`).
    """

    kind: Literal["url", "hub", "generated"]
    location: str
    sha256: str | None = None
    size: int | None = None
    note: str = ""
    base: str = ""
    split_sizes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """A released generator for this task: a Hub id or an i2i pull id, and its origin."""

    id: str
    url: str = ""
    description: str = ""


@dataclass(frozen=True)
class Task:
    """A translation problem: how to get and read its pairs, its channels, recipe and defaults.

    Registered under a key other than ``name``, the task takes the key as its name (the registry renames it).

    ``layout``: ``aligned`` (A|B side by side in split folders), ``folders`` (``A/`` and ``B/`` with
    matching names, per split), ``photos`` (single photos; ``pair_maker`` makes (A, B) from each) or
    ``auto`` (``folders`` where the data has ``A/`` and ``B/``, else ``aligned``; see :mod:`i2i.data.datasets`).
    ``pair_maker`` and ``synthesize`` are lazy ``"module:attr"`` strings so listing tasks stays light.
    ``synthesize(root, split)`` writes a synthetic aligned split at the task's own sizes (offline tasks).
    ``prepare(source, dest)`` builds the split folders in ``dest`` from the user's copy of the data in its
    own layout (e.g. the official Cityscapes folders); ``i2i data prepare TASK --from SOURCE`` calls it.
    ``preprocess(image) -> image`` (uint8 (C, H, W) both) turns a raw input, resized to the model's crop
    size, into what the model saw in training; ``i2i translate MODEL INPUT --task TASK`` applies it.
    ``compose(source, output) -> image`` turns the generator's input and output into the image the task
    delivers (e.g. the input's lightness with predicted colour); see :mod:`i2i.models.compose`.
    ``generator_args`` / ``discriminator_args``: defaults for the task's own generator / discriminator (e.g.
    a narrower network for a demo); ``--gen-arg`` / ``--disc-arg`` override them key by key.
    ``palette``: for tasks whose input is a label map, each label's name and RGB colour, in the order a
    drawing tool offers them (the first is the background); ``i2i serve`` draws with these colours.
    """

    name: str
    description: str
    citation: str = ""
    layout: Layout = "aligned"
    direction: Direction = "AtoB"
    in_channels: int = 3
    out_channels: int = 3
    recipe: Recipe = field(default_factory=Recipe)
    generator: str = "unet"
    discriminator: str = "patch70"
    generator_args: dict = field(default_factory=dict)
    discriminator_args: dict = field(default_factory=dict)
    loss: str = "l1+cgan"
    metrics: tuple[str, ...] = ("l1", "psnr", "ssim")
    sources: tuple[DataSource, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    splits: tuple[str, ...] = ("train", "val", "test")
    pair_maker: str | None = None
    synthesize: str | None = None
    prepare: str | None = None
    preprocess: str | None = None
    compose: str | None = None
    palette: tuple[tuple[str, tuple[int, int, int]], ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)
