"""The generic ``paired`` task: A|B images or A/ + B/ folders, split folders or a flat folder; --max-train."""

import json

import pytest
import torch
from test_training import assert_ok, assert_one_line_error, i2i
from torchvision.io import write_png

from i2i.core.errors import DataError
from i2i.data.datasets import PHOTO_SPLIT, PairDataset, describe_data, find_items, has_split, resolve_layout

PAIRS = 40


def image(h: int, w: int, value: int) -> torch.Tensor:
    return torch.full((3, h, w), value, dtype=torch.uint8)


@pytest.fixture
def flat_aligned(tmp_path):
    for i in range(PAIRS):
        write_png(torch.cat([image(16, 16, i), image(16, 16, 255 - i)], dim=-1), str(tmp_path / f"p{i:02d}.png"))
    return tmp_path


@pytest.fixture
def split_folders(tmp_path):
    for split, count in (("train", 3), ("val", 1)):
        for side, value in (("A", 10), ("B", 200)):
            (tmp_path / split / side).mkdir(parents=True)
            for i in range(count):
                write_png(image(16, 16, value + i), str(tmp_path / split / side / f"{i}.png"))
    return tmp_path


def test_flat_aligned_folder_is_split_by_name_hash_and_said_so(flat_aligned):
    assert resolve_layout(flat_aligned, "train", "auto") == "aligned"
    splits = {split: find_items(flat_aligned, split, "auto") for split in PHOTO_SPLIT}
    assert sum(map(len, splits.values())) == PAIRS and len(splits["train"]) > len(splits["val"]) > 0
    assert not set(splits["train"]) & set(splits["val"])
    assert splits == {split: find_items(flat_aligned, split, "auto") for split in PHOTO_SPLIT}  # stable
    dataset = PairDataset(flat_aligned, "val", layout="auto", load_size=16, crop_size=16, train=False)
    assert dataset[0]["a"].shape == (3, 16, 16) and dataset[0]["a"].mean() < dataset[0]["b"].mean()
    assert "directly in" in describe_data(dataset) and "split by file name hash, 90% train, 5% val" in describe_data(dataset)


def test_a_b_folders_in_split_folders(split_folders):
    assert resolve_layout(split_folders, "train", "auto") == "folders"
    dataset = PairDataset(split_folders, "train", layout="auto", load_size=16, crop_size=16, train=False)
    assert len(dataset) == 3 and describe_data(dataset) == f"A/ + B/ folders in {split_folders}"
    assert has_split(split_folders, "val", "auto") and not has_split(split_folders, "test", "auto")


def test_flat_a_b_folders(tmp_path):
    for side in "AB":
        (tmp_path / side).mkdir()
        for i in range(PAIRS):
            write_png(image(8, 8, i), str(tmp_path / side / f"{i}.png"))
    assert resolve_layout(tmp_path, "val", "auto") == "folders"
    items = find_items(tmp_path, "train", "auto") + find_items(tmp_path, "val", "auto") + find_items(tmp_path, "test", "auto")
    assert len(items) == PAIRS and all(a.stem == b.stem for a, b in items)


def test_neither_layout_is_a_clear_error(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(DataError, match="holds neither A/ and B/ folders nor images"):
        resolve_layout(tmp_path, "train", "auto")
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="holds neither"):
        find_items(tmp_path, "train", "auto")
    with pytest.raises(DataError, match="missing split folder"):
        find_items(tmp_path, "val", "auto")


def test_max_train_is_a_seeded_subset():
    items = [(f"{i}.png",) for i in range(20)]
    from i2i.data.datasets import subset

    chosen = subset(items, 5, seed=0)
    assert len(chosen) == 5 and chosen == sorted(chosen, key=items.index) and chosen == subset(items, 5, seed=0)
    assert chosen != subset(items, 5, seed=1) and subset(items, 50, seed=0) == items


def test_train_on_a_flat_folder_with_max_train(flat_aligned, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    result = i2i("train", "--task", "paired", "--data", flat_aligned, "--crop-size", 16, "--load-size", 16,
                 "--gen-arg", "ngf=4", "--gen-arg", "num_downs=4", "--disc-arg", "ndf=4", "--epochs", 1,
                 "--epochs-decay", 0, "--max-train", 3, "--device", "cpu", "--out", run)
    assert_ok(result)
    assert "1 epoch, 3 pairs" in result.output and "split by file name hash" in result.output
    config = json.loads((run / "config.json").read_text())
    assert config["max_train"] == 3 and config["task"] == "paired"
    assert any("val" in json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())
    assert_one_line_error(i2i("train", "--task", "paired", "--out", run / "x"), "no data for task 'paired'",
                          "pass --data DIR")
    assert_one_line_error(i2i("train", "--task", "paired", "--data", flat_aligned, "--max-train", 0, "--out",
                              run / "y"), "--max-train must be >= 1")
