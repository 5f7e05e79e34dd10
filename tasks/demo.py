"""Registers the offline ``demo`` task: procedurally generated label maps → textured scenes, no download."""

from i2i.api import DataSource, Recipe, Task, hookimpl

_GENERATOR = "i2i_tasks.demo_data:synthesize"
LABEL_COLORS = (("sky", (70, 130, 230)), ("ground", (150, 90, 30)), ("building", (220, 40, 40)),
                ("window", (250, 220, 40)), ("tree", (30, 200, 60)))
"""The demo's label classes and their flat colours in the A images."""

DEMO = Task(
    name="demo",
    description=(
        "Offline demo: flat-colour label maps of street scenes (sky, ground, building, window, tree) → "
        "renders with one texture per class (gradient sky, speckled soil, bricks, striped glass, foliage). "
        "Generated from a seed in seconds (400 train, 50 val, 50 test at 72 px). Its recipe (10 epochs at "
        "64 px, U-Net and PatchGAN of width 16) shows learning after the first epoch, under a minute on two "
        "CPU cores; the paper's width: --gen-arg ngf=64 --disc-arg ndf=64."
    ),
    citation=(
        "Synthetic data made by i2i (no external source). Method: Isola, Zhu, Zhou, Efros, "
        "\"Image-to-Image Translation with Conditional Adversarial Networks\", CVPR 2017, arXiv:1611.07004."
    ),
    layout="aligned",
    direction="AtoB",
    recipe=Recipe(epochs=5, epochs_decay=5, batch_size=1, load_size=72, crop_size=64, flip=True),
    generator="unet",
    discriminator="patch70",
    generator_args={"ngf": 16},  # the paper's 64 is ~10x the compute: minutes per epoch on a small CPU
    discriminator_args={"ndf": 16},
    loss="l1+cgan",
    sources=(DataSource("generated", _GENERATOR, note="procedural; see i2i_tasks.demo_data"),),
    synthesize=_GENERATOR,
    palette=LABEL_COLORS,
)


@hookimpl
def register_tasks(register):
    register("demo", DEMO, description="Offline demo: label maps → textured scenes, generated locally (no download)")
