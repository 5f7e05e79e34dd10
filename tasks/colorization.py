"""Registers ``colorization``: greyscale → colour photo in Lab, pairs made on the fly from any photo folder."""

from i2i.api import Task, hookimpl
from i2i_tasks.paper import cite, paper_recipe

COLORIZATION = Task(
    name="colorization",
    description=(
        "Black-and-white → colour. Point --data at any folder of photos (the paper used the 1.2M ImageNet "
        "train images; split folders train/val/test, or photos directly in the folder, split by name hash). "
        "Each pair is made on the fly in Lab, as the authors' port does: A = the photo's lightness L (1 channel, "
        "stored as the grey of that lightness, so any black-and-white photo is an input), B = its a, b "
        "channels / 110 (2 channels). The output image is the input's L with the predicted a, b: luminance "
        "is kept exactly; metrics are computed on that RGB image. Paper recipe: ~6 epochs (3 constant + 3 "
        "decaying), batch 4, mirroring only (no random jitter: photos are resized to 256×256)."
    ),
    citation=cite('Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", IJCV 2015; '
                  'protocol of Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016.'),
    layout="photos",
    in_channels=1,
    out_channels=2,
    recipe=paper_recipe(6, 4, load_size=256, crop_size=256),
    pair_maker="i2i_tasks.lab_colorization:lab_pair",
    compose="i2i_tasks.lab_colorization:compose_lab",
    metrics=("l1", "psnr", "ssim", "lab_hist", "colorfulness"),
)


@hookimpl
def register_tasks(register):
    register("colorization", COLORIZATION, aliases=("bw2color",),
             description="Greyscale → colour, pairs made from any photo folder")
