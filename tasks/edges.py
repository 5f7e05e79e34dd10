"""Registers the edges → photo tasks ``edges2shoes``, ``edges2handbags`` and ``edges2photo`` (edges drawn
from any photo folder), and ``sketch2photo``.

``sketch2photo`` is the paper's test-time use of the edges models: a human sketch is first turned into
lines that look like the HED edges those models saw (:func:`i2i_tasks.sketch.sketch_to_edges`).
"""

from i2i.api import Task, hookimpl
from i2i_tasks.paper import archive_sources, cite, paper_recipe, released

_HED = ('Edges by HED (Xie and Tu, "Holistically-Nested Edge Detection", ICCV 2015) with post-processing; '
        "black lines on white.")
_RECIPE = "Paper recipe: 15 epochs (8 constant + 7 decaying, the port's half/half split), batch 4."

EDGES2SHOES = Task(
    name="edges2shoes",
    description=(
        "Edges → photo of shoes from UT Zappos50K (49,825 train, 200 val, 256×256). The archive stores "
        f"A = edges and B = photo: AtoB. {_HED} {_RECIPE}"
    ),
    citation=cite('Yu and Grauman, "Fine-Grained Visual Comparisons with Local Learning", CVPR 2014.'),
    recipe=paper_recipe(15, 4),
    sources=archive_sources("edges2shoes", 2048, hub=True),
    checkpoints=released("edges2shoes", "AtoB"),
    splits=("train", "val"),
)

EDGES2HANDBAGS = Task(
    name="edges2handbags",
    description=(
        "Edges → photo of handbags from Amazon (iGAN's ~137k images; 200 val, 256×256). The archive stores "
        f"A = edges and B = photo: AtoB. {_HED} {_RECIPE}"
    ),
    citation=cite('Zhu, Krähenbühl, Shechtman, Efros, "Generative Visual Manipulation on the Natural Image '
                  'Manifold", ECCV 2016.'),
    recipe=paper_recipe(15, 4),
    sources=archive_sources("edges2handbags", 8192),
    splits=("train", "val"),
)

SKETCH2PHOTO = Task(
    name="sketch2photo",
    description=(
        "Hand sketch → photo with an edges2shoes or edges2handbags model (test time only, as in the paper). "
        "Put sketches (dark strokes on light paper, any size) in DIR/test/ and run "
        "`i2i test MODEL --task sketch2photo --data DIR`: each sketch is resized, binarised, thinned to "
        "1-px strokes and thickened to 2 px, black on white, like the HED edges the model saw "
        "(i2i_tasks.sketch:sketch_to_edges). The target column shows the raw sketch: no photo exists, so "
        "there are no metrics. `i2i translate MODEL sketch.png --task sketch2photo -o OUT` applies the "
        "same preprocessing to single sketches."
    ),
    citation=cite('Eitz, Hays, Alexa, "How Do Humans Sketch Objects?", SIGGRAPH 2012.'),
    layout="photos",
    pair_maker="i2i_tasks.sketch:sketch_pair",
    preprocess="i2i_tasks.sketch:sketch_to_edges",
    recipe=EDGES2SHOES.recipe,
    metrics=(),
    checkpoints=EDGES2SHOES.checkpoints,
    splits=("test",),
)


EDGES2PHOTO = Task(
    name="edges2photo",
    description=(
        "Edges → photo from any folder of photos (split folders train/val/test, or photos directly in the "
        "folder, split by name hash): each pair is made on the fly, A = the photo's Canny edges as 2-px black "
        "lines on white (i2i_tasks.photo_edges, in the style of the archives' HED edges), B = the photo. "
        f"`i2i translate MODEL photo.png --task edges2photo` draws a photo's edges first. {_RECIPE}"
    ),
    citation=cite("any photo folder."),
    layout="photos",
    recipe=paper_recipe(15, 4),
    pair_maker="i2i_tasks.photo_edges:edges_pair",
    preprocess="i2i_tasks.photo_edges:photo_edges",
    metrics=("l1", "psnr", "ssim", "lab_hist", "colorfulness"),
)


@hookimpl
def register_tasks(register):
    register("edges2shoes", EDGES2SHOES, description="Edges → shoe photo (UT Zappos50K)")
    register("edges2handbags", EDGES2HANDBAGS, description="Edges → handbag photo (Amazon, iGAN)")
    register("edges2photo", EDGES2PHOTO, description="Edges → photo, pairs made from any photo folder")
    register("sketch2photo", SKETCH2PHOTO, description="Hand sketch → photo with an edges model (test time)")
