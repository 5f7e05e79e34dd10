"""Hostile and unlucky images (tests/bad_inputs.py): never a crash, one clear line naming the file, or a
skip with a warning; images read as a viewer shows them, in training and translation alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bad_inputs import (BAD_IMAGES, animated_gif, exif_rotated_jpeg, gradient, one_pixel_png, palette_png,
                        short_idat_png, write)
from click.testing import CliRunner
from conftest import run_i2i
from PIL import Image
from test_modeldir import save, tiny_unet

from i2i.cli import cli
from i2i.core.errors import ConfigError, DataError
from i2i.data.images import MAX_PIXELS_ENV, read_image
from i2i_tasks.demo_data import synthesize


def i2i(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    generator, args = tiny_unet()
    return save(tmp_path_factory.mktemp("model") / "unet", generator, "unet", args)


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_every_bad_image_is_one_clear_error_naming_the_file(tmp_path, name):
    path = write(tmp_path, name, BAD_IMAGES[name]())
    with pytest.raises(DataError) as info:
        read_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DataError, match="the upload"):
        read_image(path.read_bytes(), name="the upload")


def test_bombs_name_the_limit_and_how_to_raise_it(tmp_path, monkeypatch):
    for name in ("bomb.png", "bomb.bmp"):
        with pytest.raises(DataError, match=f"over the limit of 90.0 Mpx.*{MAX_PIXELS_ENV}"):
            read_image(write(tmp_path, name, BAD_IMAGES[name]()))
    small = write(tmp_path, "small.png", one_pixel_png())
    Image.fromarray(gradient(40, 30)).save(tmp_path / "big.png")
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(DataError, match="40x30 is 0.0 Mpx, over the limit of 0.0 Mpx"):
        read_image(tmp_path / "big.png")
    np.save(tmp_path / "big.npy", np.zeros((30, 40), np.uint8))
    with pytest.raises(DataError, match="over the limit"):
        read_image(tmp_path / "big.npy")
    assert read_image(small).shape == (3, 1, 1)
    assert read_image(tmp_path / "big.png", max_pixels=1200).shape == (3, 30, 40)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ConfigError, match=MAX_PIXELS_ENV):
        read_image(small)


def test_palette_exif_and_odd_names_are_read_as_a_viewer_shows_them(tmp_path):
    data, rgb = palette_png()
    assert np.array_equal(read_image(data).permute(1, 2, 0).numpy(), rgb)
    rotated = read_image(exif_rotated_jpeg(32, 16))
    upright = torch.from_numpy(gradient(32, 16)).permute(2, 0, 1).rot90(-1, (1, 2))  # 90 degrees clockwise
    assert rotated.shape == (3, 32, 16) and (rotated.float() - upright.float()).abs().mean() < 3
    odd = write(tmp_path, b"caf\xe9.png", short_idat_png())
    with pytest.raises(DataError, match=r"caf\\xe9\.png"):
        read_image(odd)
    with pytest.raises(DataError, match="animated GIF with 3 frames"):
        read_image(write(tmp_path, "anim.gif", animated_gif()))
    photo, depth = (Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (10, 200))
    camera = tmp_path / "camera.jpg"  # a phone's multi-picture JPEG (MPO): the first picture is the photo
    photo.save(camera, "MPO", save_all=True, append_images=[depth])
    assert read_image(camera).float().mean() == 10


def test_translate_survives_a_short_idat_png_and_skips_bad_images_on_request(model, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(gradient(16, 16)).save(inputs / "good.png")
    for name, make in BAD_IMAGES.items():
        write(inputs, name, make())
    write(inputs, b"odd\xff.png", short_idat_png())
    out = tmp_path / "out"
    skipped = run_i2i("translate", str(model), str(inputs), "-o", str(out), "--skip-bad-images")  # a crash stays there
    assert skipped.returncode == 0, skipped.stderr
    warnings = [line for line in skipped.stderr.splitlines() if line.startswith("i2i: warning: skipping bad image")]
    assert len(warnings) == len(BAD_IMAGES) + 1 and any("odd\\xff.png" in line for line in warnings)
    assert "translated 1 image(s)" in skipped.stderr and "skipped 6 bad image(s)" in skipped.stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.png"]
    stopped = i2i("translate", model, inputs / "short_idat.png", "-o", out, "-q")
    assert stopped.exit_code == 1 and stopped.output.count("Error:") == 1 and "short_idat.png" in stopped.output


def test_training_survives_bad_images_and_skips_them_on_request(tmp_path):
    data = tmp_path / "data"
    synthesize(data, "train", 2, 32)
    synthesize(data, "val", 1, 32)
    write(data / "train", "short_idat.png", short_idat_png())
    write(data / "train", "tiny.png", one_pixel_png())
    write(data / "train", "anim.gif", animated_gif())
    args = ["train", "--task", "demo", "--data", data, "--crop-size", "32", "--load-size", "32",
            "--gen-arg", "ngf=8", "--disc-arg", "ndf=8", "--device", "cpu", "--epochs", "1", "--epochs-decay", "0",
            "--loss", "l1", "--quiet"]
    home = {"I2I_HOME": str(tmp_path / "home")}
    skipped = run_i2i(*map(str, args), "--out", str(tmp_path / "b"), "--skip-bad-images", env=home)
    assert skipped.returncode == 0, skipped.stderr
    warned = [line for line in skipped.stderr.splitlines() if "skipping bad image" in line]
    assert {"short_idat.png", "tiny.png", "anim.gif"} == {
        name for name in ("short_idat.png", "tiny.png", "anim.gif") if any(name in line for line in warned)}
    assert any("too narrow to hold A and B" in line for line in warned)
    left = {"tiny.png", "anim.gif", "short_idat.png"}
    while left:  # without the option, the first bad file met stops training with one line naming it
        stopped = i2i(*args, "--out", tmp_path / f"run{len(left)}")
        assert stopped.exit_code == 1 and stopped.output.count("Error:") == 1, stopped.output
        named = [bad for bad in left if bad in stopped.output]
        assert len(named) == 1, stopped.output
        (data / "train" / named[0]).unlink()
        left.remove(named[0])


def test_aligned_and_folder_data_read_palettes_and_exif_like_translation(tmp_path, model):
    from i2i.data.datasets import PairDataset
    from i2i.models.translator import Translator

    (tmp_path / "test").mkdir()
    data, _ = palette_png(32, 16)
    write(tmp_path / "test", "pal.png", data)
    item = PairDataset(tmp_path, "test", load_size=16, crop_size=16)[0]
    expected = Translator.load(model, device="cpu").prepare(tmp_path / "test" / "pal.png")
    assert torch.equal(torch.cat([item["a"], item["b"]], -1), expected)


def test_images_too_big_to_translate_whole_are_tiled(monkeypatch, capsys):
    import i2i.models.translator as module
    from test_modeldir import PointwiseGenerator
    from test_translator import signed, translator

    monkeypatch.setattr(module, "AUTO_TILE_PIXELS", 40 * 40)
    monkeypatch.setattr(module, "AUTO_TILE", 20)  # rounded up to the size multiple, 24
    generator = PointwiseGenerator()
    auto = translator(generator, mode="eval", overlap=8)
    small, big = signed(3, 40, 40, seed=1), signed(3, 48, 40, seed=2)
    assert torch.equal(auto.translate(small), translator(generator, mode="eval").translate(small))
    assert generator.batch_sizes == [1, 1] and "tiles" not in capsys.readouterr().err
    tiled = translator(generator, mode="eval", tile=24, overlap=8, batch_size=8).translate(big)
    generator.batch_sizes.clear()
    assert torch.equal(auto.translate(big), tiled)
    assert generator.batch_sizes == [6]  # 3x2 overlapping 24-px tiles in one pass
    assert "translating a 40x48 image in 24-pixel tiles" in capsys.readouterr().err
