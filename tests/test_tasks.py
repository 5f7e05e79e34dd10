"""The paper's tasks: listing, facts, and the pairs that photo-made tasks, sketches and KAIST produce."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image, ImageDraw
from scipy import ndimage

from conftest import run_python
from i2i.cli import cli
from i2i.core.plugin_manager import get_registry
from i2i.data.datasets import PairDataset, resolve_pair_maker
from i2i.data.images import to_uint8
from i2i.data.lab import srgb_to_lab
from i2i.data.location import task_data_root
from i2i_tasks.kaist import prepare_kaist
from i2i_tasks.paper import paper_recipe
from i2i_tasks.sketch import sketch_to_edges

PAPER_TASKS = ("facades", "cityscapes", "cityscapes-photo2labels", "maps", "aerial2map", "map2aerial",
               "edges2shoes", "edges2handbags", "sketch2photo", "night2day", "day2night", "colorization",
               "thermal2color", "inpainting", "inpainting-random", "demo")


def task(name):
    return get_registry().resolve("tasks", name)


def test_list_shows_every_paper_task_without_importing_torch():
    listing = run_python(["-c", (
        "import sys; from i2i.cli import cli; cli(['list', 'tasks', '--json'], standalone_mode=False); "
        "from i2i.core.plugin_manager import get_registry; [e.resolve() for e in get_registry().list('tasks')]; "
        "print('torch' in sys.modules)")], env={"I2I_STRICT_PLUGINS": "1"})
    assert listing.returncode == 0, listing.stderr
    entries, torch_imported = listing.stdout.rstrip().rsplit("\n", 1)
    listed = {name for entry in json.loads(entries) for name in (entry["name"], *entry["aliases"])}
    assert set(PAPER_TASKS) <= listed
    assert torch_imported == "False"


def test_info_facades_shows_sources_recipe_and_checkpoints():
    result = CliRunner().invoke(cli, ["info", "facades"])
    assert result.exit_code == 0, result.output
    for text in ('"location": "facades.tar.gz"', '"location": "huggan/facades"', "direction: BtoA",
                 "epochs: 100", "epochs_decay: 100", "batch_size: 1", "load_size: 286", "crop_size: 256",
                 '"id": "pix2pix/facades_label2photo"',
                 "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/facades_label2photo.pth"):
        assert text in result.output, text


@pytest.mark.parametrize("name, direction, channels, epochs, batch", [
    ("facades", "BtoA", (3, 3), 200, 1),
    ("cityscapes", "BtoA", (3, 3), 200, 1),
    ("cityscapes-photo2labels", "AtoB", (3, 3), 200, 1),
    ("maps", "AtoB", (3, 3), 200, 1),
    ("aerial2map", "AtoB", (3, 3), 200, 1),
    ("map2aerial", "BtoA", (3, 3), 200, 1),
    ("edges2shoes", "AtoB", (3, 3), 15, 4),
    ("edges2handbags", "AtoB", (3, 3), 15, 4),
    ("sketch2photo", "AtoB", (3, 3), 15, 4),
    ("night2day", "AtoB", (3, 3), 17, 4),
    ("day2night", "BtoA", (3, 3), 17, 4),
    ("colorization", "AtoB", (1, 2), 6, 4),
    ("thermal2color", "AtoB", (1, 3), 10, 4),
    ("inpainting", "AtoB", (4, 3), 25, 4),
    ("inpainting-random", "AtoB", (4, 3), 25, 4),
])
def test_direction_channels_and_paper_recipe(name, direction, channels, epochs, batch):
    spec = task(name)
    assert (spec.direction, (spec.in_channels, spec.out_channels)) == (direction, channels)
    assert (spec.recipe.epochs + spec.recipe.epochs_decay, spec.recipe.batch_size) == (epochs, batch)
    assert spec.citation and spec.description
    registered = {entry.name for entry in get_registry().list("metrics")}
    assert set(spec.metrics) <= registered
    assert spec.metrics == () or "psnr" in spec.metrics  # training's default best metric
    if spec.layout == "photos":
        assert callable(resolve_pair_maker(spec.pair_maker))


def test_paper_recipe_splits_epochs_like_the_port():
    assert [(r.epochs, r.epochs_decay) for r in map(lambda e: paper_recipe(e, 1), (200, 17, 15, 6))] == [
        (100, 100), (9, 8), (8, 7), (3, 3)]


def test_archive_hub_and_checkpoint_sources():
    hub = {name: [s.location for s in task(name).sources if s.kind == "hub"] for name in PAPER_TASKS}
    assert {name for name, ids in hub.items() if ids} == {"facades", "maps", "aerial2map", "map2aerial",
                                                           "edges2shoes", "night2day", "day2night"}
    assert hub["maps"] == ["huggan/maps"] and hub["day2night"] == ["huggan/night2day"]
    for name in ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"):
        archive = [s for s in task(name).sources if s.kind == "url"]
        assert [s.location for s in archive] == [f"{name}.tar.gz"] and "MiB" in archive[0].note
    cityscapes = task("cityscapes")
    assert "licence" in cityscapes.description and "i2i data prepare cityscapes" in cityscapes.sources[0].note
    released = {name: [(c.id, c.url.rsplit("/", 1)[-1]) for c in task(name).checkpoints]
                for name in ("facades", "maps", "map2aerial", "edges2shoes", "sketch2photo", "day2night", "night2day")}
    shoes = [("pix2pix/edges2shoes", "edges2shoes.pth")]
    assert released == {
        "facades": [("pix2pix/facades_label2photo", "facades_label2photo.pth")],
        "maps": [("pix2pix/sat2map", "sat2map.pth")], "map2aerial": [("pix2pix/map2sat", "map2sat.pth")],
        "edges2shoes": shoes, "sketch2photo": shoes,
        "day2night": [("pix2pix/day2night", "day2night.pth")], "night2day": []}


@pytest.fixture
def photos(tmp_path):
    """A train folder of four colourful 48×40 photos (gradients plus noise)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "train"
    folder.mkdir()
    yy, xx = np.mgrid[0:40, 0:48]
    for index in range(4):
        base = np.stack([xx * 5, yy * 6, 255 - xx * 5], -1) + rng.integers(-20, 20, (40, 48, 3))
        Image.fromarray(np.clip(base + index * 10, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    return tmp_path


def pairs(root, name, train=False, size=32):
    spec = task(name)
    dataset = PairDataset(root, "train", layout="photos", pair_maker=spec.pair_maker, in_channels=spec.in_channels,
                          out_channels=spec.out_channels, train=train, load_size=size + 4 * train, crop_size=size)
    return [dataset[i] for i in range(len(dataset))]


@pytest.mark.parametrize("train", [False, True])
def test_colorization_pairs_are_lightness_and_ab_and_compose_to_the_photo(photos, train):
    from i2i.models.compose import composed, task_compose

    compose = task_compose(task("colorization"))
    for item in pairs(photos, "colorization", train):
        a, b = item["a"], item["b"]
        assert a.shape == (1, 32, 32) and b.shape == (2, 32, 32)
        assert b.abs().mean() > 0.05  # B keeps colour
        photo = composed(compose, a, b)
        colour = to_uint8(photo)
        assert colour.shape == (3, 32, 32)
        assert (colour.max(0).values.int() - colour.min(0).values.int()).float().mean() > 20
        lightness = srgb_to_lab(photo[None])[0, 0]  # A is the grey of the photo's Lab lightness
        assert torch.allclose(srgb_to_lab(a[None].expand(-1, 3, -1, -1))[0, 0], lightness, atol=1e-2)


def test_inpainting_hides_the_centre_square_only(photos):
    for item in pairs(photos, "inpainting"):
        a, b = item["a"], item["b"]
        assert a.shape == (4, 32, 32) and b.shape == (3, 32, 32)
        hole = torch.zeros(32, 32, dtype=torch.bool)
        hole[8:24, 8:24] = True
        assert torch.equal(a[3], torch.where(hole, -1.0, 1.0))
        assert torch.equal(a[:3][:, ~hole], b[:, ~hole])
        assert (a[:3][:, hole] == 0).all() and (b[:, hole] != 0).any()


def test_random_inpainting_masks_vary_and_match_the_fill(photos):
    first, again = pairs(photos, "inpainting-random", True), pairs(photos, "inpainting-random", True)
    holes = []
    for item, repeat in zip(first, again):
        a, b = item["a"], item["b"]
        assert torch.equal(a, repeat["a"])  # a pure function of (seed, epoch, index)
        hole = a[3] == -1
        assert set(a[3].unique().tolist()) == {-1.0, 1.0} and 0.02 < hole.float().mean() < 0.9
        assert torch.equal(a[:3][:, ~hole], b[:, ~hole]) and (a[:3][:, hole] == 0).all()
        holes.append(hole)
    assert not all(torch.equal(holes[0], hole) for hole in holes[1:])


def test_sketch_pairs_feed_edges_and_show_the_sketch(tmp_path):
    folder = tmp_path / "test"
    folder.mkdir()
    sketch = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(sketch).line([(8, 8), (56, 50)], fill="black", width=6)
    sketch.save(folder / "shoe.png")
    item = PairDataset.for_task(task("sketch2photo"), tmp_path, "test", train=False, crop_size=64, load_size=64)[0]
    assert set(item["a"].unique().tolist()) == {-1.0, 1.0} and (item["a"] == -1).float().mean() < 0.1
    assert torch.equal(to_uint8(item["b"]), chw(sketch))


def chw(image):
    """A PIL RGB image as a uint8 (3, H, W) tensor."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()


def thick_sketch(dark_on_light=True):
    """A 128×128 sketch: a ring and a separate bar, 7-px grey strokes on paper."""
    paper, ink = ("white", (40, 40, 40)) if dark_on_light else ("black", (230, 230, 230))
    image = Image.new("RGB", (128, 128), paper)
    draw = ImageDraw.Draw(image)
    draw.ellipse([14, 14, 84, 84], outline=ink, width=7)
    draw.line([(100, 10), (110, 118)], fill=ink, width=7)
    return chw(image)


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_sketch_strokes_become_thin_black_lines_on_white(dark_on_light):
    sketch = thick_sketch(dark_on_light)
    edges = sketch_to_edges(sketch)
    assert edges.dtype == torch.uint8 and edges.shape == (3, 128, 128)
    assert torch.equal(edges[0], edges[1]) and torch.equal(edges[0], edges[2])
    assert set(edges.unique().tolist()) == {0, 255} and (edges == 255).float().mean() > 0.9
    strokes = thick_sketch()[0].numpy() < 128
    lines = edges[0].numpy() == 0
    assert ndimage.distance_transform_edt(strokes).max() >= 3  # the input strokes are thick ...
    assert ndimage.distance_transform_edt(lines).max() < 2  # ... the output at most 2 px wide
    assert ndimage.binary_erosion(lines, np.ones((2, 2), dtype=bool)).sum() > 0.5 * lines.sum() / 2  # 2 px
    assert not (lines & ~ndimage.binary_dilation(strokes)).any()  # lines run inside the strokes
    assert ndimage.distance_transform_edt(~lines)[strokes].max() <= 4  # and cover every stroke
    eight = np.ones((3, 3), dtype=bool)
    assert ndimage.label(lines, eight)[1] == ndimage.label(strokes, eight)[1] == 2  # ring and bar
    assert ndimage.label(~lines)[1] == ndimage.label(~strokes)[1] == 2  # the ring stays closed


def test_prepare_kaist_lays_out_thermal_pairs(tmp_path, monkeypatch):
    def frame(path, value):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 48, 3), value, dtype=np.uint8)).save(path)

    src = tmp_path / "kaist" / "images"
    for set_name, video, stem, value in (("set00", "V000", "I00000", 60), ("set05", "V001", "I00002", 90),
                                         ("set06", "V000", "I00000", 120)):
        frame(src / set_name / video / "lwir" / f"{stem}.jpg", value)
        frame(src / set_name / video / "visible" / f"{stem}.jpg", (value, 200, 30))
    frame(src / "set01" / "V000" / "lwir" / "I00009.jpg", 10)  # no visible frame: skipped
    counts = prepare_kaist(tmp_path / "kaist", tmp_path / "thermal")
    assert counts == {"train": 2, "test": 1}
    assert sorted(p.name for p in (tmp_path / "thermal" / "train" / "A").iterdir()) == [
        "set00_V000_I00000.jpg", "set05_V001_I00002.jpg"]
    assert prepare_kaist(tmp_path / "kaist", tmp_path / "thermal") == counts  # rerunning replaces links

    # The same through the CLI, into the cache the trainer reads.
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["data", "prepare", "thermal2color", "--from", str(tmp_path / "kaist"), "-q"])
    assert result.exit_code == 0, result.output
    root = task_data_root(task("thermal2color"))
    assert sorted(p.name for p in (root / "train" / "B").iterdir()) == [
        "set00_V000_I00000.jpg", "set05_V001_I00002.jpg"]
    item = PairDataset.for_task(task("thermal2color"), root, "test", train=False, load_size=32, crop_size=32)[0]
    assert item["a"].shape == (1, 32, 32) and item["b"].shape == (3, 32, 32)
    assert (to_uint8(item["a"]).int() - 120).abs().max() <= 3  # A: the thermal frame, grey
    assert (to_uint8(item["b"]).int() - torch.tensor([120, 200, 30]).view(3, 1, 1)).abs().max() <= 3  # B: visible


def test_translate_with_a_tasks_preprocessing(tmp_path):
    from test_modeldir import save, tiny_unet

    generator, args = tiny_unet()
    save(tmp_path / "model", generator, "unet", args, inference_mode="eval")
    sketch = Image.new("RGB", (90, 70), "white")
    ImageDraw.Draw(sketch).ellipse((20, 15, 70, 55), outline="black", width=6)
    sketch.save(tmp_path / "sketch.png")
    runner = CliRunner()
    result = runner.invoke(cli, ["translate", str(tmp_path / "model"), str(tmp_path / "sketch.png"),
                                 "-o", str(tmp_path / "out"), "--task", "sketch2photo", "-q"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "sketch.png") as out:
        assert out.size == (32, 32)  # resized to the model's crop size before the edges are made
    refused = runner.invoke(cli, ["translate", str(tmp_path / "model"), str(tmp_path / "sketch.png"),
                                  "-o", str(tmp_path / "out"), "--task", "facades", "-q"])
    assert refused.exit_code != 0 and "has no input preprocessing" in refused.output


def test_label_map_tasks_declare_their_drawing_palettes():
    from i2i_plugins.fcn import TRAIN_CLASSES, TRAIN_COLORS
    from i2i_tasks.demo_data import PALETTE

    registry = get_registry()
    palettes = {name: registry.resolve("tasks", name).palette for name in
                ("demo", "facades", "cityscapes", "cityscapes-photo2labels", "maps")}
    assert [tuple(rgb) for _, rgb in palettes["demo"]] == [tuple(rgb) for rgb in PALETTE.tolist()]
    assert len(palettes["facades"]) == 12 and palettes["facades"][0][0] == "background"
    assert palettes["cityscapes"][1:] == tuple(zip(TRAIN_CLASSES, TRAIN_COLORS))  # the colours fcn_score reads
    assert palettes["cityscapes-photo2labels"] == palettes["maps"] == ()  # photo inputs
    for palette in palettes.values():
        assert len({rgb for _, rgb in palette}) == len(palette)
