"""Registers ``thermal2color``: thermal (LWIR) frame → colour photo on the user's copy of KAIST."""

from i2i.api import Task, hookimpl
from i2i_tasks.paper import cite, paper_recipe

THERMAL = Task(
    name="thermal2color",
    description=(
        "Thermal (long-wave infrared) → colour photo on KAIST Multispectral Pedestrian: aligned 640×512 "
        "LWIR and RGB frames. Not redistributed: download KAIST yourself, then lay it out as "
        "DIR/<split>/A (lwir, 1 channel) and DIR/<split>/B (visible, RGB) with matching names, or let "
        "`i2i data prepare thermal2color --from KAIST_ROOT` link set00–set05 to train and set06–set11 to "
        "test, as the paper split it. Paper recipe: 10 epochs (5 constant + 5 decaying), batch 4."
    ),
    citation=cite('Hwang, Park, Kim, Choi, Kweon, "Multispectral Pedestrian Detection: Benchmark Dataset and '
                  'Baseline", CVPR 2015.'),
    layout="folders",
    in_channels=1,
    out_channels=3,
    recipe=paper_recipe(10, 4),
    splits=("train", "test"),
    prepare="i2i_tasks.kaist:prepare_kaist",
)


@hookimpl
def register_tasks(register):
    register("thermal2color", THERMAL, aliases=("thermal",), description="Thermal (LWIR) → colour photo (KAIST)")
