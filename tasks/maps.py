"""Registers the Google Maps tasks: ``maps`` (aerial → map, alias ``aerial2map``) and ``map2aerial``."""

from dataclasses import replace

from i2i.api import Task, hookimpl
from i2i_tasks.paper import archive_sources, cite, paper_recipe, released

_SIZES = (
    "Each side is 600×600: as in the PyTorch port, both halves are resized to 286×286 and a random 256×256 "
    "crop is taken for training (resized to 256 for testing)."
)

MAPS = Task(
    name="maps",
    description=(
        "Aerial photo → map on Google Maps tiles around New York City (1096 train, 1098 val). The archive "
        f"stores A = aerial and B = map, so this task reads AtoB. {_SIZES} Paper recipe: 200 epochs "
        "(100 + 100 decaying), batch 1, jitter and mirroring."
    ),
    citation=cite("tiles scraped from Google Maps by Isola et al. (2017)."),
    layout="aligned",
    direction="AtoB",
    recipe=paper_recipe(200, 1),
    sources=archive_sources("maps", 239, hub=True),
    checkpoints=released("maps", "AtoB"),
    splits=("train", "val"),
)

MAP2AERIAL = replace(
    MAPS,
    name="map2aerial",
    description=(
        "Map → aerial photo on Google Maps tiles (the `maps` data read BtoA: A = aerial, B = map). "
        f"{_SIZES} Paper recipe: 200 epochs (100 + 100 decaying), batch 1, jitter and mirroring."
    ),
    direction="BtoA",
    checkpoints=released("maps", "BtoA"),
)


@hookimpl
def register_tasks(register):
    register("maps", MAPS, aliases=("aerial2map", "sat2map"), description="Aerial photo → map (Google Maps)")
    register("map2aerial", MAP2AERIAL, aliases=("map2sat",), description="Map → aerial photo (Google Maps)")
