"""Registers ``paired``: the user's own aligned pairs, from any folder, with no plugin to write."""

from i2i.api import Recipe, Task, hookimpl

PAIRED = Task(
    name="paired",
    description=(
        "Your own paired data (--data DIR): A|B side-by-side images (A on the left half), or A/ and B/ "
        "folders of images with matching names; which one is detected. DIR holds train/ (and val/, test/) "
        "split folders, or the files directly, split by file name hash (90% train, 5% val, 5% test). The "
        "recipe is the paper's defaults (100 + 100 epochs, batch 1, resize 286, crop 256, flip); set it "
        "with train's options (--epochs, --crop-size, --direction, ...)."
    ),
    citation=(
        "Method: Isola, Zhu, Zhou, Efros, \"Image-to-Image Translation with Conditional Adversarial Networks\", "
        "CVPR 2017, arXiv:1611.07004."
    ),
    layout="auto",
    direction="AtoB",
    recipe=Recipe(),
)


@hookimpl
def register_tasks(register):
    register("paired", PAIRED, aliases=("aligned", "custom"),
             description="Your own pairs: A|B images or A/ + B/ folders in --data DIR (layout detected)")
