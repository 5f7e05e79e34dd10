"""Hub parquet sets (huggan/*) written out as aligned pairs: the re-split rules and the pairs themselves."""

import sys

import numpy as np
import pytest
from archive_server import FileServer, encode, pairs_archive, read_split, split_pairs
from hub_server import HubServer, use_hub

from i2i.core.errors import ConfigError, DataError
from i2i.core.task import DataSource, Task
from i2i.data.fetch import MIRROR_ENV, get_task_data
from i2i.data.hub_datasets import hub_to_aligned, split_of, write_pairs

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SPLITS = split_pairs()


def parquet_of(path, pairs, fmt="PNG", columns=("imageA", "imageB")):
    """A huggan-style parquet: image structs {bytes, path} in ``columns``."""
    cells = [[{"bytes": encode(image, fmt), "path": None} for image in side] for side in zip(*pairs)]
    pq.write_table(pa.table(dict(zip(columns, cells))), path)
    return path


FACADES = (("train", 400), ("val", 100), ("test", 106))


def test_facades_rows_split_in_the_original_order():
    split = split_of(606, FACADES)
    names = [split(index, b"") for index in range(606)]
    assert names[:400] == ["train"] * 400 and names[400:500] == ["val"] * 100 and names[500:] == ["test"] * 106


def test_other_sets_split_by_hash_of_the_a_image():
    split = split_of(605, FACADES)  # a count that does not match the known sizes
    rows = [bytes([i % 256, i // 256]) for i in range(2000)]
    names = [split(index, a) for index, a in enumerate(rows)]
    assert names == [split(index + 7, a) for index, a in enumerate(rows)]  # independent of the row position
    counts = {name: names.count(name) for name in ("train", "val", "test")}
    assert 1700 < counts["train"] < 1900 and 50 < counts["val"] < 150 and 50 < counts["test"] < 150


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_rows_become_aligned_pairs(tmp_path, fmt, suffix):
    pairs = [pair for split in SPLITS.values() for pair in split]
    parquet = parquet_of(tmp_path / "train-00000-of-00001.parquet", pairs, fmt)
    counts = write_pairs("huggan/tiny", [parquet], tmp_path / "out", progress=False)
    assert sum(counts.values()) == len(pairs)
    written = sorted((tmp_path / "out").rglob("*.*"))
    assert {p.suffix for p in written} == {suffix}
    if fmt == "PNG":  # lossless: exactly the pairs, each split in row order
        order = {pair[0].tobytes(): i for i, pair in enumerate(pairs)}
        for split in counts:
            images = read_split(tmp_path / "out", split)
            indices = [order[image[:, :40].tobytes()] for image in images]
            assert indices == sorted(indices)
            assert all(np.array_equal(image, np.concatenate(pairs[i], axis=1)) for image, i in zip(images, indices))


def test_missing_columns_and_missing_pyarrow_are_one_line_errors(tmp_path, monkeypatch):
    parquet = parquet_of(tmp_path / "x.parquet", SPLITS["val"], columns=("input", "target"))
    with pytest.raises(DataError, match="has no column imageA, imageB \\(columns: input, target\\)"):
        write_pairs("huggan/tiny", [parquet], tmp_path / "out", progress=False)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match="pip install 'i2i-pix2pix\\[hub-data\\]'"):
        hub_to_aligned("huggan/tiny", tmp_path / "out2", progress=False)


def test_hub_source_yields_the_same_pairs_as_the_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    archive_task = Task(name="tiny", description="", sources=(DataSource("url", "tiny.tar.gz"),))
    with FileServer({"/tiny.tar.gz": pairs_archive("tiny", SPLITS)}) as mirror:
        monkeypatch.setenv(MIRROR_ENV, mirror.url)
        from_archive = {split: read_split(get_task_data(archive_task, progress=False), split) for split in SPLITS}
    rows = [(image[:, :40], image[:, 40:]) for split in SPLITS for image in from_archive[split]]
    parquet = parquet_of(tmp_path / "train-00000-of-00001.parquet", rows)
    sizes = tuple((split, len(pairs)) for split, pairs in SPLITS.items())
    hub_task = Task(name="tiny-from-hub", description="", sources=(DataSource("url", "gone.tar.gz"),
                                                             DataSource("hub", "huggan/tiny", split_sizes=sizes)))
    with HubServer() as hub:
        hub.add_files("huggan/tiny", {"data/train-00000-of-00001.parquet": parquet, "README.md": "tiny"},
                      repo_type="dataset")
        use_hub(monkeypatch, hub, tmp_path / "hf")
        said = []
        root = get_task_data(hub_task, progress=False, announce=said.append)
        with pytest.raises(DataError, match="could not get data for missing: cannot download Hub dataset "
                                            "huggan/missing: .*HF_ENDPOINT"):
            get_task_data(Task(name="missing", description="", sources=(DataSource("hub", "huggan/missing"),)),
                          progress=False)
    assert root.name == "gone" and any("trying the next source" in line for line in said)
    assert sorted(p.name for p in root.iterdir()) == [".i2i-complete", "test", "train", "val"]
    for split in SPLITS:
        hub_images = read_split(root, split)
        assert len(hub_images) == len(from_archive[split])
        assert all(np.array_equal(h, a) for h, a in zip(hub_images, from_archive[split]))
