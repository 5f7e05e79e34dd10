"""Registers ``facades``: architectural labels → photo on CMP Facades (paper recipe: 200 epochs, batch 1)."""

from i2i.api import Task, hookimpl
from i2i_tasks.paper import archive_sources, cite, paper_recipe, released

LABEL_COLORS = (("background", (0, 6, 217)), ("wall", (13, 61, 251)), ("door", (165, 0, 0)),
                ("window", (0, 117, 255)), ("window sill", (104, 248, 152)), ("window head", (29, 255, 221)),
                ("shutter", (238, 237, 40)), ("balcony", (184, 255, 56)), ("trim", (255, 146, 4)),
                ("cornice", (255, 68, 1)), ("column", (246, 0, 1)), ("entrance", (0, 201, 255)))
"""The colours of the CMP Facades label maps in the pix2pix archive (as the authors' community demo draws them)."""

FACADES = Task(
    name="facades",
    description=(
        "Architectural labels → photo on the CMP Facades set (400 train, 100 val, 106 test, 256×256; the "
        "Hub copy holds all 606 in one split). The archive stores A = photo and B = labels, so this task "
        "reads BtoA. Paper recipe: 200 epochs (100 constant + 100 decaying), batch 1, jitter (resize 286, "
        "crop 256) and mirroring."
    ),
    citation=cite('Tyleček and Šára, "Spatial Pattern Templates for Recognition of Objects with Regular '
                  'Structure", GCPR 2013.'),
    layout="aligned",
    direction="BtoA",
    recipe=paper_recipe(200, 1),
    sources=archive_sources("facades", 29, hub=True),
    checkpoints=released("facades", "BtoA"),
    palette=LABEL_COLORS,
)


@hookimpl
def register_tasks(register):
    register("facades", FACADES, aliases=("facades-label2photo",),
             description="Architectural labels → photo (CMP Facades)")
