"""`i2i data prepare cityscapes --from DIR` on a fake copy of the official Cityscapes folders."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from i2i_tasks.cityscapes_prepare import build_cityscapes
from i2i.cli import cli
from i2i.core.errors import DataError
from i2i.core.plugin_manager import get_registry
from i2i.data.location import read_marker, task_data_root

PALETTE = np.array([[128, 64, 128], [70, 70, 70], [107, 142, 35], [0, 0, 142]], dtype=np.uint8)
FRAMES = {"train": ["aachen_000000_000019", "aachen_000001_000019", "bochum_000000_000313"],
          "val": ["frankfurt_000000_000294"]}


def fake_cityscapes(root, frames=FRAMES, seed=0):
    """Photos (64×32) and RGBA colour label maps in the official layout, plus files prepare must ignore."""
    rng = np.random.default_rng(seed)
    photos = {}
    for split, names in frames.items():
        for name in names:
            city = name.split("_")[0]
            photo = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
            labels = np.dstack([PALETTE[rng.integers(0, len(PALETTE), (4, 8))].repeat(8, 0).repeat(8, 1),
                                np.full((32, 64), 255, np.uint8)])
            for folder, suffix, image in (("leftImg8bit", "leftImg8bit", photo), ("gtFine", "gtFine_color", labels),
                                          ("gtFine", "gtFine_labelIds", photo[..., 0])):
                path = root / folder / split / city / f"{name}_{suffix}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path)
            photos[split, name] = photo
    return photos


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_prepare_builds_aligned_256_pairs_shared_by_both_cityscapes_tasks(home, tmp_path):
    photos = fake_cityscapes(tmp_path / "cs")
    result = CliRunner().invoke(cli, ["data", "prepare", "cityscapes", "--from", str(tmp_path / "cs"), "-q"])
    assert result.exit_code == 0, result.output
    root = home / "data" / "cityscapes"
    assert result.output.strip() == f"cityscapes: {root}"
    for split, names in FRAMES.items():
        assert sorted(p.stem for p in (root / split).iterdir()) == names
    assert read_marker(root)["splits"] == {"train": 3, "val": 1}
    pair = np.asarray(Image.open(root / "val" / "frankfurt_000000_000294.png"))
    assert pair.shape == (256, 512, 3)
    expected = Image.fromarray(photos["val", "frankfurt_000000_000294"]).resize((256, 256), Image.Resampling.BICUBIC)
    assert np.array_equal(pair[:, :256], np.asarray(expected))
    label_colours = {tuple(c) for c in pair[:, 256:].reshape(-1, 3)}
    assert label_colours <= {tuple(c) for c in PALETTE.tolist()}  # nearest neighbour keeps the label colours
    registry = get_registry()
    for task in ("cityscapes", "cityscapes-photo2labels"):
        assert task_data_root(registry.resolve("tasks", task)) == root


def test_missing_labels_or_folders_are_one_line_errors(tmp_path):
    fake_cityscapes(tmp_path / "cs")
    (tmp_path / "cs/gtFine/train/bochum/bochum_000000_000313_gtFine_color.png").unlink()
    with pytest.raises(DataError, match="missing labels .*bochum_000000_000313_gtFine_color.png"):
        build_cityscapes(tmp_path / "cs", tmp_path / "out", workers=1, progress=False)
    only_photos = tmp_path / "photos"
    (only_photos / "leftImg8bit").mkdir(parents=True)
    with pytest.raises(DataError, match="no gtFine/ in"):
        build_cityscapes(only_photos, tmp_path / "out2", progress=False)
    (only_photos / "gtFine").mkdir()
    with pytest.raises(DataError, match="no \\*/\\*_leftImg8bit.png photos"):
        build_cityscapes(only_photos, tmp_path / "out3", progress=False)
