"""The data pipeline: layouts, channels and bit depths, paired jitter, determinism, resume, bad files."""


import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import encode_jpeg, write_png

from i2i.core.errors import ConfigError, DataError
from i2i.core.task import Recipe, Task
from i2i.data.augment import PairJitter
from i2i.data.datasets import PairDataset, find_items
from i2i.data.images import to_signed_unit
from i2i.data.sampling import build_loader, epoch_order


def solid(value, h=8, w=8, c=3):
    return torch.tensor(value, dtype=torch.uint8).view(-1, 1, 1).expand(c, h, w).contiguous()


def pattern(h=12, w=12, seed=0):
    """An asymmetric RGB image: every crop and flip of it looks different."""
    return torch.randint(0, 256, (3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def write_aligned(folder, pairs):
    folder.mkdir(parents=True, exist_ok=True)
    for i, (a, b) in enumerate(pairs):
        write_png(torch.cat([a, b], dim=-1), str(folder / f"{i:03d}.png"))


def grey_pair(photo, generator):
    """A trivial pair maker: (grey filled with a random level, the photo)."""
    level = torch.rand((), generator=generator)
    return torch.full((1, *photo.shape[1:]), float(level)), to_signed_unit(photo)


def eval_set(root, **options):
    return PairDataset(root, "test", train=False, crop_size=8, load_size=8, **options)


def test_aligned_halves_and_direction(tmp_path):
    a, b = solid([255, 0, 0], h=6, w=10), solid([0, 0, 255], h=6, w=10)  # non-square halves
    write_aligned(tmp_path / "test", [(a, b)])
    item = PairDataset(tmp_path, "test", train=False, load_size=6, crop_size=6)[0]
    assert item["a"].shape == (3, 6, 6) and item["path"].endswith("000.png")
    assert torch.equal(item["a"][:, 0, 0], torch.tensor([1.0, -1.0, -1.0]))
    assert torch.equal(item["b"][:, 0, 0], torch.tensor([-1.0, -1.0, 1.0]))
    swapped = PairDataset(tmp_path, "test", train=False, load_size=6, crop_size=6, direction="BtoA")[0]
    assert torch.equal(swapped["a"], item["b"]) and torch.equal(swapped["b"], item["a"])


def test_folders_match_by_stem_and_report_unmatched(tmp_path):
    split = tmp_path / "train"
    for side, value in (("A", 10), ("B", 200)):
        (split / side).mkdir(parents=True)
        for stem in ("x", "y"):
            write_png(solid([value] * 3), str(split / side / f"{stem}.png"))
    data = PairDataset(tmp_path, "train", layout="folders", train=False, load_size=8, crop_size=8)
    assert [p[0].stem for p in data.items] == ["x", "y"] and len(data) == 2
    assert data[1]["b"].max() > 0 > data[1]["a"].max()
    write_png(solid([0] * 3), str(split / "A" / "only_here.png"))
    with pytest.raises(DataError, match=r"unmatched files in .*train: 1 only in A/ \(only_here\)"):
        find_items(tmp_path, "train", "folders")


def test_photos_layout_with_pair_maker_and_root_split(tmp_path):
    (tmp_path / "test").mkdir()
    write_png(pattern(), str(tmp_path / "test" / "p.png"))
    data = eval_set(tmp_path, layout="photos", pair_maker=f"{__name__}:grey_pair")
    item = data[0]
    assert item["a"].shape == (3, 8, 8) and item["b"].shape == (3, 8, 8)  # grey A matched to 3 channels
    assert torch.equal(data[0]["a"], item["a"])
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(60):
        write_png(solid([i, i, i]), str(flat / f"{i:02d}.png"))
    splits = {s: {p for (p,) in find_items(flat, s, "photos")} for s in ("train", "val", "test")}
    assert sum(map(len, splits.values())) == 60 and len(set.union(*splits.values())) == 60
    assert len(splits["train"]) > 40 and splits == {s: {p for (p,) in find_items(flat, s, "photos")} for s in splits}
    with pytest.raises(ConfigError, match="pair_maker"):
        PairDataset(flat, "train", layout="photos")


def test_same_geometry_for_a_and_b_and_it_varies(tmp_path):
    write_aligned(tmp_path / "train", [(pattern(), pattern())] * 6)  # A == B in every file
    data = PairDataset(tmp_path, "train", load_size=12, crop_size=8, seed=3)
    seen = set()
    for epoch in range(3):
        for index in range(len(data)):
            item = data[(epoch, index)]
            assert item["a"].shape == (3, 8, 8) and torch.equal(item["a"], item["b"])
            seen.add(item["a"].numpy().tobytes())
    assert len(seen) > 10  # crops and flips differ across indices and epochs
    unflipped = PairDataset(tmp_path, "train", load_size=12, crop_size=12, flip=False)
    assert torch.equal(unflipped[0]["a"], to_signed_unit(pattern()))


def test_jitter_matches_paper_recipe():
    jitter = PairJitter(load_size=286, crop_size=256)
    a, b = jitter((pattern(600, 600), pattern(600, 600, seed=1)), torch.Generator().manual_seed(0))
    assert a.shape == b.shape == (3, 256, 256) and a.dtype == torch.uint8
    test = PairJitter(load_size=286, crop_size=256, train=False)
    (a,) = test((pattern(300, 600),), torch.Generator())
    assert a.shape == (3, 256, 256)
    with pytest.raises(ConfigError):
        PairJitter(load_size=200, crop_size=256)


def test_determinism_and_worker_independence(tmp_path):
    write_aligned(tmp_path / "train", [(pattern(seed=i), pattern(seed=i + 50)) for i in range(6)])
    make = lambda: PairDataset(tmp_path, "train", load_size=12, crop_size=8, seed=7)  # noqa: E731
    first, second = make(), make()
    assert all(torch.equal(first[(2, i)]["a"], second[(2, i)]["a"]) for i in range(6))
    assert not all(torch.equal(first[(1, i)]["a"], first[(2, i)]["a"]) for i in range(6))
    torch.manual_seed(123)  # the global RNG plays no part
    loaders = [build_loader(make(), 2, shuffle=True, seed=7, epoch=2, num_workers=w) for w in (0, 2)]
    for epoch in (2, 3):  # the second epoch reuses the persistent workers' dataset copies
        for loader in loaders:
            loader.set_epoch(epoch)
        rng = torch.get_rng_state()
        batches = [list(loader) for loader in loaders]
        assert torch.equal(rng, torch.get_rng_state())
        for one, other in zip(*batches, strict=True):
            assert one["path"] == other["path"] and torch.equal(one["a"], other["a"])
        assert torch.equal(batches[0][0]["a"][0], first[(epoch, epoch_order(6, 7, epoch)[0])]["a"])


def test_resume_order_is_the_tail_of_the_epoch(tmp_path):
    write_aligned(tmp_path / "train", [(pattern(seed=i), pattern(seed=i)) for i in range(7)])
    data = PairDataset(tmp_path, "train", load_size=12, crop_size=8)
    full = build_loader(data, 2, shuffle=True, seed=1, epoch=4)
    paths = [b["path"] for b in full]
    assert len(paths) == len(full) == 4 and sorted(sum(paths, [])) == sorted(str(p) for (p,) in data.items)
    tail = build_loader(data, 2, shuffle=True, seed=1, epoch=4, start_batch=3)
    assert len(tail) == 1 and [b["path"] for b in tail] == paths[3:]
    full.set_epoch(5)
    assert [b["path"] for b in full] != paths
    assert sorted(epoch_order(7, 1, 4)) == list(range(7)) and epoch_order(7, 1, 4) == epoch_order(7, 1, 4)


def test_sixteen_bit_png_keeps_full_precision(tmp_path):
    values = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000 + 1)
    (tmp_path / "test").mkdir()
    Image.fromarray(np.concatenate([values, values[:, ::-1]], axis=1)).save(tmp_path / "test" / "deep.png")
    item = eval_set(tmp_path, in_channels=1, out_channels=1)[0]
    expected = torch.from_numpy(values.astype(np.float32) / 65535 * 2 - 1)
    assert torch.allclose(item["a"][0], expected, atol=1e-6)


def test_grey_and_rgba_become_rgb(tmp_path):
    (tmp_path / "test").mkdir()
    grey = np.full((8, 16), 128, np.uint8)
    Image.fromarray(grey).save(tmp_path / "test" / "grey.png")
    rgba = np.zeros((8, 16, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 7
    Image.fromarray(rgba, "RGBA").save(tmp_path / "test" / "rgba.png")
    data = eval_set(tmp_path)
    grey_item, rgba_item = data[0], data[1]
    assert grey_item["a"].shape == (3, 8, 8) and torch.allclose(grey_item["a"], torch.tensor(128 / 127.5 - 1), atol=1e-6)
    assert rgba_item["b"].shape == (3, 8, 8) and torch.equal(rgba_item["b"][:, 0, 0], torch.tensor([1.0, -1, -1]))


def test_npy_arrays_with_five_channels(tmp_path):
    split = tmp_path / "test"
    for side in ("A", "B"):
        (split / side).mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(split / "A" / "s.npy", rng.integers(0, 256, (8, 8, 5), dtype=np.uint8))
    floats = rng.random((8, 8, 5), dtype=np.float32)
    np.save(split / "B" / "s.npy", floats)
    item = eval_set(tmp_path, layout="folders", in_channels=5, out_channels=5)[0]
    assert item["a"].shape == item["b"].shape == (5, 8, 8)
    assert torch.allclose(item["b"], torch.from_numpy(floats.transpose(2, 0, 1) * 2 - 1), atol=1e-6)
    np.save(split / "B" / "s.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(DataError, match=r"cannot decode image .*s\.npy"):
        eval_set(tmp_path, layout="folders", in_channels=5, out_channels=5)[0]


def write_with_bad_jpeg(folder):
    write_aligned(folder, [(pattern(8, 8, seed=i), pattern(8, 8, seed=i)) for i in range(3)])
    good = encode_jpeg(torch.cat([pattern(8, 8), pattern(8, 8)], -1)).numpy().tobytes()
    bad = folder / "001.jpg"
    bad.write_bytes(good[: len(good) // 2])
    (folder / "001.png").unlink()
    return bad


def test_corrupted_jpeg_names_the_file_also_from_workers(tmp_path):
    bad = write_with_bad_jpeg(tmp_path / "test")
    data = eval_set(tmp_path)
    with pytest.raises(DataError, match=f"cannot decode image {bad}"):
        data[1]
    with pytest.raises(DataError) as caught:
        list(build_loader(data, 1, shuffle=False, seed=0, num_workers=1))
    assert str(caught.value).startswith(f"cannot decode image {bad}:") and "\n" not in str(caught.value)


def test_skip_bad_images_warns_once_and_continues(tmp_path, capsys):
    bad = write_with_bad_jpeg(tmp_path / "test")
    data = eval_set(tmp_path, skip_bad_images=True)
    paths = [data[i]["path"] for i in range(3)] + [data[1]["path"]]
    assert paths == [str(tmp_path / "test" / n) for n in ("000.png", "002.png", "002.png", "002.png")]
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("i2i: warning: skipping bad image") and str(bad) in warnings[0]


def test_missing_or_empty_split_folder(tmp_path):
    with pytest.raises(DataError, match=r"missing split folder .*val: expected images with A on the left"):
        PairDataset(tmp_path, "val")
    (tmp_path / "val").mkdir()
    with pytest.raises(DataError, match=r"no images in .*val"):
        PairDataset(tmp_path, "val")


def test_for_task_takes_the_recipe(tmp_path):
    write_aligned(tmp_path / "train", [(pattern(), pattern())])
    task = Task(name="t", description="", direction="BtoA", recipe=Recipe(load_size=12, crop_size=8, flip=False))
    data = PairDataset.for_task(task, tmp_path, "train", seed=2)
    assert data.jitter == PairJitter(12, 8, False, True) and data.swap and data.seed == 2


def test_bmp_and_16_bit_tiff_are_read_with_pillow(tmp_path):
    from i2i.data.images import read_image

    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    assert torch.equal(read_image(tmp_path / "a.bmp"), torch.from_numpy(rgb).permute(2, 0, 1))
    thermal = np.random.default_rng(1).integers(0, 65536, (6, 4), dtype=np.uint16)
    Image.fromarray(thermal).save(tmp_path / "t.tif")
    read = read_image(tmp_path / "t.tif")
    assert read.dtype == torch.uint16 and torch.equal(read.int(), torch.from_numpy(thermal.astype(np.int32))[None])
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    with pytest.raises(DataError, match=r"cannot decode image .*bad\.tif"):
        read_image(tmp_path / "bad.tif")
