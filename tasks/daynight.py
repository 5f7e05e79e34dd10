"""Registers the Transient Attributes webcam tasks ``night2day`` and ``day2night``."""

from dataclasses import replace

from i2i.api import Task, hookimpl
from i2i_tasks.paper import archive_sources, cite, paper_recipe, released

_DATA = ("Webcam frames of 101 outdoor scenes (91 webcams train, ~17.8k pairs; 10 held-out webcams for "
         "testing), 256×256; the archive stores A = night and B = day.")
_RECIPE = "Paper recipe: 17 epochs (9 constant + 8 decaying), batch 4, jitter and mirroring."

NIGHT2DAY = Task(
    name="night2day",
    description=f"Night → day photo of the same scene. {_DATA} This task reads AtoB. {_RECIPE}",
    citation=cite('Laffont, Ren, Tao, Qian, Hays, "Transient Attributes for High-Level Understanding and '
                  'Editing of Outdoor Scenes", SIGGRAPH 2014.'),
    recipe=paper_recipe(17, 4),
    sources=archive_sources("night2day", 1946, hub=True),
)

DAY2NIGHT = replace(
    NIGHT2DAY,
    name="day2night",
    description=f"Day → night photo of the same scene (the paper's direction). {_DATA} This task reads BtoA. "
                f"{_RECIPE}",
    direction="BtoA",
    checkpoints=released("night2day", "BtoA"),
)


@hookimpl
def register_tasks(register):
    register("night2day", NIGHT2DAY, description="Night → day photo (Transient Attributes webcams)")
    register("day2night", DAY2NIGHT, description="Day → night photo (Transient Attributes webcams)")
