"""Registers ``inpainting`` (centre hole, the Paris StreetView protocol) and ``inpainting-random``.

Both make pairs from any photo folder; they differ only in the hole. The generator input has 4
channels: the photo with the hole filled with 0 (mid grey) and a validity channel, +1 where pixels are
known and -1 in the hole (saved as RGBA PNG, the hole is transparent). Two tasks rather than an option
keep tasks declarative and make the mask choice part of a model's recorded task name.
"""

from dataclasses import replace

from i2i.api import Task, hookimpl
from i2i_tasks.paper import cite, paper_recipe

_DATA = (
    "Point --data at a folder of photos (the paper used Paris StreetView: 14,900 train, 100 test; split "
    "folders train/val/test, or photos directly in the folder, split by name hash). Input: 4 channels, the "
    "photo with the hole filled with mid grey plus a validity channel (+1 known, -1 hole); output: the photo, "
    "whose known pixels are kept from the input (the generator fills only the hole)."
)
_RECIPE = "Paper recipe: 25 epochs (13 constant + 12 decaying), batch 4, jitter and mirroring."

INPAINTING = Task(
    name="inpainting",
    description=(
        f"Photo with a missing centre square (half the side, as Pathak et al.'s context encoders) → the full "
        f"photo. {_DATA} {_RECIPE}"
    ),
    citation=cite('Doersch, Singh, Gupta, Sivic, Efros, "What Makes Paris Look like Paris?", SIGGRAPH 2012; '
                  'protocol of Pathak, Krähenbühl, Donahue, Darrell, Efros, "Context Encoders: Feature '
                  'Learning by Inpainting", CVPR 2016.'),
    layout="photos",
    in_channels=4,
    out_channels=3,
    recipe=paper_recipe(25, 4),
    pair_maker="i2i_tasks.pair_makers:centre_hole_pair",
    compose="i2i_tasks.pair_makers:paste_known",
)

INPAINTING_RANDOM = replace(
    INPAINTING,
    name="inpainting-random",
    description=(
        "Photo with random holes (1–3 rectangles and 1–3 brush strokes, drawn afresh for every item and "
        f"epoch) → the full photo; for filling free-form holes. {_DATA} {_RECIPE}"
    ),
    pair_maker="i2i_tasks.pair_makers:random_hole_pair",
)


@hookimpl
def register_tasks(register):
    register("inpainting", INPAINTING, description="Photo with a missing centre square → full photo")
    register("inpainting-random", INPAINTING_RANDOM, description="Photo with random holes and strokes → full photo")
