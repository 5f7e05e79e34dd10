"""The offline demo task: deterministic generation, A|B consistency, sizes and counts, CLI listing."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from i2i.cli import cli
from i2i_tasks import demo_data
from i2i_tasks.demo import DEMO
from i2i_tasks.demo_data import PALETTE, synthesize


def halves(path):
    """(A labels as class indices, B as float RGB) from one aligned pair file."""
    pair = np.asarray(Image.open(path).convert("RGB"))
    size = pair.shape[0]
    a, b = pair[:, :size], pair[:, size:]
    matches = (a[:, :, None, :] == PALETTE[None, None]).all(-1)
    assert matches.any(-1).all(), "A must be flat palette colours only"
    return matches.argmax(-1), b.astype(np.float64)


def test_same_seed_writes_identical_bytes(tmp_path):
    first = synthesize(tmp_path / "a", "val", 5, 48, 7)
    second = synthesize(tmp_path / "b", "val", 5, 48, 7)
    other = synthesize(tmp_path / "c", "val", 5, 48, 8)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other]


def test_splits_differ_and_a_longer_split_extends_a_shorter_one(tmp_path):
    short = synthesize(tmp_path / "short", "train", 2, 48, 0)
    long = synthesize(tmp_path / "long", "train", 4, 48, 0)
    val = synthesize(tmp_path / "long", "val", 2, 48, 0)
    assert [p.read_bytes() for p in short] == [p.read_bytes() for p in long[:2]]
    assert short[0].read_bytes() != val[0].read_bytes()


def test_sizes_counts_and_default_split_sizes(tmp_path, monkeypatch):
    paths = synthesize(tmp_path, "test", 3, 40, 0)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["test/0000.png", "test/0001.png", "test/0002.png"]
    with Image.open(paths[0]) as image:
        assert (image.size, image.mode) == ((80, 40), "RGB")
    monkeypatch.setitem(demo_data.SPLIT_COUNTS, "val", 2)
    assert len(synthesize(tmp_path, "val")) == 2
    with Image.open(tmp_path / "val" / "0000.png") as image:
        assert image.size == (2 * demo_data.DEFAULT_SIZE, demo_data.DEFAULT_SIZE)


def test_every_class_appears_across_a_few_scenes(tmp_path):
    labels = [halves(p)[0] for p in synthesize(tmp_path, "train", 8, 72, 0)]
    assert set(np.unique(np.concatenate([l.ravel() for l in labels]))) == set(range(len(PALETTE)))


def test_b_textures_follow_a_labels(tmp_path):
    """Colour centroids learnt per class on one seed classify B's pixels and regions on another seed."""
    def pixels(seed):
        pairs = [halves(p) for p in synthesize(tmp_path / str(seed), "train", 12, 72, seed)]
        return pairs, np.concatenate([l.ravel() for l, _ in pairs]), np.concatenate([b.reshape(-1, 3) for _, b in pairs])

    _, fit_labels, fit_colours = pixels(1)
    centroids = np.stack([fit_colours[fit_labels == c].mean(0) for c in range(len(PALETTE))])
    nearest = lambda colours: ((colours[:, None] - centroids) ** 2).sum(-1).argmin(-1)  # noqa: E731

    pairs, labels, colours = pixels(2)
    assert (nearest(colours) == labels).mean() > 0.8
    regions = [(c, b[l == c].mean(0)) for l, b in pairs for c in np.unique(l) if (l == c).sum() >= 20]
    assert np.mean([nearest(mean[None])[0] == c for c, mean in regions]) > 0.95


def test_textures_have_their_character(tmp_path):
    """Sky is smooth and bluish, ground is speckled, bricks have mortar lines, trees are green."""
    stats = {c: [] for c in range(len(PALETTE))}
    for path in synthesize(tmp_path, "train", 12, 72, 3):
        labels, b = halves(path)
        inner = labels[1:, :] == labels[:-1, :]
        step = np.abs(b[1:, :] - b[:-1, :]).mean(-1)  # vertical neighbour difference within a class
        for c in stats:
            mask = inner & (labels[1:, :] == c)
            if mask.sum() >= 20:
                stats[c].append((b[1:, :][mask].mean(0), step[mask].mean()))
    mean = {c: np.mean([m for m, _ in v], 0) for c, v in stats.items()}
    roughness = {c: np.mean([r for _, r in v]) for c, v in stats.items()}
    sky, ground, building, window, tree = range(len(PALETTE))
    assert mean[sky][2] > mean[sky][0] and mean[tree][1] > max(mean[tree][0], mean[tree][2])
    assert mean[building][0] > mean[building][2]
    assert roughness[sky] < roughness[ground] / 3 and roughness[tree] < roughness[building] / 3


def test_task_recipe_and_sources():
    assert DEMO.synthesize == "i2i_tasks.demo_data:synthesize"
    assert [s.kind for s in DEMO.sources] == ["generated"] and DEMO.sources[0].location == DEMO.synthesize
    recipe = DEMO.recipe
    assert (recipe.load_size, recipe.crop_size, recipe.epochs, recipe.epochs_decay) == (72, 64, 5, 5)
    assert recipe.load_size == demo_data.DEFAULT_SIZE
    assert (DEMO.generator, DEMO.discriminator, DEMO.loss) == ("unet", "patch70", "l1+cgan")


@pytest.fixture
def runner(monkeypatch):
    from i2i.core import plugin_manager as plugins

    monkeypatch.delenv(plugins.ENV_PLUGINS, raising=False)
    plugins.reset_plugins()
    yield CliRunner()
    plugins.reset_plugins()


def test_cli_lists_and_describes_demo(runner):
    listed = runner.invoke(cli, ["list", "tasks"])
    assert listed.exit_code == 0 and "demo" in listed.output
    info = runner.invoke(cli, ["info", "demo", "--json"])
    assert info.exit_code == 0, info.output
    (record,) = json.loads(info.output)
    assert record["kind"] == "task" and record["plugin"] == "demo"
    assert record["synthesize"] == "i2i_tasks.demo_data:synthesize" and record["recipe"]["crop_size"] == 64
