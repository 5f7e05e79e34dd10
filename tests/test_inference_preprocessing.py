"""Every inference path resizes inputs as training does: bicubic, antialiased, in the model's --preprocess mode.

``translate --task``, ``test``/``eval`` (one dataset code) and ``study make`` are checked against the resize
written out here; ``translate`` without ``--task`` and ``serve`` take any size and do not resize. The old-format
fixture's model (32-px crops, resize_and_crop) does the translating.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from i2i.cli import cli
from i2i.data.augment import PairJitter
from i2i_tasks.photo_edges import photo_edges

MODEL = Path(__file__).parent / "fixtures" / "old_format" / "model"
pytestmark = pytest.mark.usefixtures("home")


def i2i(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def resized(image: torch.Tensor, size: list[int], how: InterpolationMode = InterpolationMode.BICUBIC) -> torch.Tensor:
    return F.resize(image, size, how, antialias=True)


def pixels(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def save(image: torch.Tensor, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
    return path


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and (a.int() - b.int()).abs().max().item() <= 1


@pytest.fixture(scope="module")
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    """A and B (48x72, uint8): noise, where bicubic and bilinear resizes differ clearly."""
    generator = torch.Generator().manual_seed(3)
    a, b = (torch.randint(0, 256, (3, 48, 72), generator=generator, dtype=torch.uint8) for _ in range(2))
    return a, b


@pytest.fixture(scope="module")
def pairs_dir(pair, tmp_path_factory) -> Path:
    """One aligned A|B test pair (and a val split, as the demo task's data has)."""
    root = tmp_path_factory.mktemp("pairs")
    for split in ("test", "val"):
        save(torch.cat(pair, dim=2), root / split / "0000.png")
    return root


def test_training_resizes_bicubic_and_bilinear_would_differ(pair):
    """The reference below is training's resize (PairJitter), and this image tells bicubic from bilinear."""
    a = pair[0]
    assert torch.equal(PairJitter(32, 32, flip=False).resize(a), resized(a, [32, 32]))
    assert not close(resized(a, [32, 32]), resized(a, [32, 32], InterpolationMode.BILINEAR))
    edges = photo_edges(resized(a, [32, 32]))
    assert not torch.equal(edges, photo_edges(resized(a, [32, 32], InterpolationMode.BILINEAR)))


def test_translate_task_resizes_as_training_does(pair, tmp_path):
    """``translate --task edges2photo`` gives what translating the edges of the bicubic-resized photo gives."""
    photo = save(pair[0], tmp_path / "photo.png")
    edges = save(photo_edges(resized(pair[0], [32, 32])), tmp_path / "edges" / "photo.png")
    i2i("translate", MODEL, photo, "--task", "edges2photo", "-o", tmp_path / "task", "--seed", 0, "--device", "cpu")
    i2i("translate", MODEL, edges, "-o", tmp_path / "plain", "--seed", 0, "--device", "cpu")
    assert torch.equal(pixels(tmp_path / "task" / "photo.png"), pixels(tmp_path / "plain" / "photo.png"))


def test_test_and_eval_resize_as_training_does(pair, pairs_dir, tmp_path):
    """``i2i test`` (and ``eval``, which shares its dataset) feeds and scores the bicubic-resized pair."""
    i2i("test", MODEL, "--data", pairs_dir, "-o", tmp_path / "report", "--device", "cpu")
    images = tmp_path / "report" / "images"
    assert close(pixels(images / "00000_0000_input.png"), resized(pair[0], [32, 32]))
    assert close(pixels(images / "00000_0000_target.png"), resized(pair[1], [32, 32]))


def test_study_shows_pairs_resized_in_the_models_preprocess_mode(pair, pairs_dir, tmp_path):
    """``study make`` resizes as ``i2i test`` does, in the model's --preprocess mode (here scale_width: the width
    to the crop size, aspect kept: 96x72 -> 42x32); models trained in different modes are refused together."""
    model = tmp_path / "model"
    shutil.copytree(MODEL, model)
    config = json.loads((model / "config.json").read_text())
    config["train_size"]["preprocess"] = "scale_width"
    (model / "config.json").write_text(json.dumps(config))
    tall = [torch.cat([image, image.flip(-1)], dim=1) for image in pair]  # 96x72: scale_width keeps its aspect
    tall_data = tmp_path / "tall"
    save(torch.cat(tall, dim=2), tall_data / "test" / "0000.png")
    i2i("study", "make", model, "--data", tall_data, "-o", tmp_path / "study", "--practice", 0, "--trials", 1,
        "--catch", 0, "--device", "cpu")
    real = pixels(tmp_path / "study" / "images" / "real" / "00000_0000.png")
    assert close(real, resized(tall[1], [42, 32]))
    i2i("test", model, "--data", tall_data, "-o", tmp_path / "report", "--device", "cpu")
    assert close(pixels(tmp_path / "report" / "images" / "00000_0000_target.png"), real)
    result = CliRunner().invoke(cli, ["study", "make", str(model), str(MODEL), "--data", str(pairs_dir), "-o",
                                      str(tmp_path / "mixed"), "--practice", "0", "--trials", "1", "--catch", "0"])
    assert result.exit_code != 0 and "different --preprocess modes" in result.output
