"""What the paper's task modules share: archive sources, released checkpoints, recipes, citations.

Archive locations are file names relative to :data:`DATASETS_BASE`, the pix2pix datasets server, so a
mirror (``$I2I_DATA_MIRROR``) can replace the base.
Torch-free, like :mod:`i2i.core.task` and :mod:`i2i_tasks.released` that it builds on.
"""

from __future__ import annotations

from i2i.api import Checkpoint, DataSource, Recipe
from i2i_tasks.released import RELEASED

DATASETS_BASE = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
# The huggan/* Hub sets merge the original splits in order; these are their sizes (see i2i.data.hub_datasets).
HUB_SPLITS = {
    "facades": (("train", 400), ("val", 100), ("test", 106)),
    "maps": (("train", 1096), ("val", 1098)),
    "edges2shoes": (("train", 49825), ("val", 200)),
}
HUB_NOTE = ("Hub parquet with imageA/imageB columns; every original split is merged into one train split, "
            "so it is re-split deterministically")
PIX2PIX = ('Method: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial '
           'Networks", CVPR 2017, arXiv:1611.07004.')


def archive_sources(name: str, approx_mib: int, *, hub: bool = False, note: str = "") -> tuple[DataSource, ...]:
    """The pix2pix archive ``<name>.tar.gz`` and, with ``hub``, the Hub dataset ``huggan/<name>``.

    The archive's size is only known roughly, so it goes in the note: ``size`` stays None because
    downloads reject any file whose byte count differs from it.
    """
    archive_note = f"about {approx_mib} MiB; one JPEG per pair, A|B side by side, in split folders. {note}"
    sources = [DataSource("url", f"{name}.tar.gz", note=archive_note.strip(), base=DATASETS_BASE)]
    if hub:
        sources.append(DataSource("hub", f"huggan/{name}", note=HUB_NOTE, split_sizes=HUB_SPLITS.get(name, ())))
    return tuple(sources)


def released(archive: str, direction: str) -> tuple[Checkpoint, ...]:
    """The authors' released generators trained on ``archive``'s data in ``direction`` (:mod:`i2i_tasks.released`)."""
    return tuple(model.checkpoint() for model in RELEASED.values()
                 if model.task == archive and model.direction == direction)


def paper_recipe(epochs: int, batch_size: int, **fields) -> Recipe:
    """The paper's epoch count split as the PyTorch port splits 200 into 100 + 100.

    The first half (rounded up) runs at constant learning rate, the rest decays linearly to zero:
    200 → 100 + 100, 17 → 9 + 8, 15 → 8 + 7, 6 → 3 + 3. ``fields`` set the other recipe fields.
    """
    constant = (epochs + 1) // 2
    return Recipe(epochs=constant, epochs_decay=epochs - constant, batch_size=batch_size, **fields)


def cite(dataset: str) -> str:
    """A task's citation: the dataset's paper, then the method's."""
    return f"Data: {dataset} {PIX2PIX}"
