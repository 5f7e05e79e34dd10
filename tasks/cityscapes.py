"""Registers the Cityscapes tasks: ``cityscapes`` (labels → photo) and ``cityscapes-photo2labels``."""

from dataclasses import replace

from i2i.api import Task, hookimpl
from i2i_tasks.paper import archive_sources, cite, paper_recipe

_LICENCE = (
    "The Cityscapes licence forbids redistribution: download the archive only if your licence allows it, "
    "or build the same layout from your own copy with `i2i data prepare cityscapes --from DIR`."
)

LABEL_COLORS = (
    ("unlabeled", (0, 0, 0)), ("road", (128, 64, 128)), ("sidewalk", (244, 35, 232)), ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)), ("fence", (190, 153, 153)), ("pole", (153, 153, 153)),
    ("traffic light", (250, 170, 30)), ("traffic sign", (220, 220, 0)), ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)), ("sky", (70, 130, 180)), ("person", (220, 20, 60)), ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)), ("truck", (0, 0, 70)), ("bus", (0, 60, 100)), ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)), ("bicycle", (119, 11, 32)),
)
"""Cityscapes' colour label maps (gtFine ``*_color.png``): void black, then the 19 evaluated classes."""

CITYSCAPES = Task(
    name="cityscapes",
    description=(
        "Semantic labels → street photo on Cityscapes (2975 train, 500 val, 256×256 colour label maps). "
        "The archive stores A = photo and B = labels, so this task reads BtoA. Paper recipe: 200 epochs "
        f"(100 + 100 decaying), batch 1, jitter and mirroring. {_LICENCE}"
    ),
    citation=cite('Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene Understanding", CVPR 2016.'),
    layout="aligned",
    direction="BtoA",
    recipe=paper_recipe(200, 1),
    sources=archive_sources("cityscapes", 99, note=_LICENCE),
    splits=("train", "val"),
    metrics=("l1", "psnr", "ssim", "fcn_score", "lab_hist"),
    prepare="i2i_tasks.cityscapes_prepare:build_cityscapes",
    palette=LABEL_COLORS,
)

PHOTO2LABELS = replace(
    CITYSCAPES,
    name="cityscapes-photo2labels",
    description=(
        "Street photo → colour semantic label map (segmentation as translation) on Cityscapes: the archive's "
        f"own direction, AtoB. Same data and recipe as `cityscapes`. {_LICENCE}"
    ),
    direction="AtoB",
    metrics=("l1", "mse", "psnr", "label_score"),
    palette=(),  # its input is a photo; the label colours are its output
)


@hookimpl
def register_tasks(register):
    register("cityscapes", CITYSCAPES, aliases=("cityscapes-labels2photo",),
             description="Semantic labels → street photo (Cityscapes)")
    register("cityscapes-photo2labels", PHOTO2LABELS, description="Street photo → semantic labels (Cityscapes)")
