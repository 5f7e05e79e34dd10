"""The translator (any size, tiles, paper/eval mode, seeds, input kinds) and `i2i translate`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from test_modeldir import PointwiseGenerator, TileMeanGenerator, config_for, save, tiny_unet

import i2i
from i2i.cli import cli
from i2i.core.errors import ConfigError
from i2i.data.images import read_image
from i2i.models.tiling import tile_starts
from i2i.models.translator import Translator


def translator(generator, name: str = "test", args: dict | None = None, **options) -> Translator:
    config = config_for(name, args or {}, (generator.in_channels, generator.out_channels))
    return Translator(generator, config, device="cpu", **options)


def signed(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture
def unet_dir(tmp_path):
    generator, args = tiny_unet(dropout_placement="paper")  # dropout on d1-d2 (the port's rule drops none at depth 3)
    return save(tmp_path / "unet", generator, "unet", args)


@pytest.mark.parametrize("multiple", [8, 64])
def test_any_size_is_padded_and_cropped_back(multiple):
    t = translator(PointwiseGenerator(size_multiple=multiple), mode="eval")
    x = signed(3, 300, 517)
    y = t.translate(x)
    assert y.shape == (3, 300, 517)
    assert torch.allclose(y, torch.tanh(t.generator.conv(x[None]))[0], atol=1e-6)
    assert t.translate(signed(3, 5, 7)).shape == (3, 5, 7)  # too small to reflect: replicate


def test_unet_keeps_odd_sizes(unet_dir):
    assert Translator.load(unet_dir, device="cpu").translate(signed(3, 30, 51)).shape == (3, 30, 51)


def test_tiled_equals_untiled_for_a_local_generator():
    generator = PointwiseGenerator(size_multiple=16)
    x = signed(3, 300, 517)
    whole = translator(generator, mode="eval").translate(x)
    generator.batch_sizes.clear()
    tiled = translator(generator, mode="eval", tile=64, overlap=16, batch_size=4).translate(x)
    assert torch.allclose(tiled, whole, atol=1e-6)
    assert max(generator.batch_sizes) == 4 and len(generator.batch_sizes) > 4  # tiles are batched


def test_tiled_matches_untiled_when_overlap_covers_the_receptive_field(unet_dir):
    x = signed(3, 96, 160)
    whole = Translator.load(unet_dir, device="cpu", mode="eval").translate(x)
    tiled = Translator.load(unet_dir, device="cpu", mode="eval", tile=64, overlap=32).translate(x)
    assert (tiled - whole).abs().max() < 0.02 * whole.abs().max()


def max_jump(image: torch.Tensor) -> float:
    return image.diff(dim=-1).abs().max().item()


def test_tiles_of_a_non_local_generator_blend_without_seams():
    x = torch.linspace(-1, 1, 256).expand(3, 64, 256).clone()  # each tile's mean differs
    hard = translator(TileMeanGenerator(), mode="eval", tile=64, overlap=0).translate(x)
    smooth = translator(TileMeanGenerator(), mode="eval", tile=64, overlap=32).translate(x)
    assert max_jump(hard) > 0.2
    assert max_jump(smooth) < 0.1 * max_jump(hard)


def test_tile_size_must_fit_the_generator():
    with pytest.raises(ConfigError, match="multiple of the generator's size multiple 16"):
        translator(PointwiseGenerator(size_multiple=16), tile=40)
    with pytest.raises(ConfigError, match="overlap 64"):
        translator(PointwiseGenerator(size_multiple=16), tile=64, overlap=64)


def test_tile_starts_overlap_and_align():
    starts = tile_starts(304, 64, 16, 8)
    assert starts[0] == 0 and starts[-1] == 304 - 64
    assert all(s % 8 == 0 for s in starts)
    assert all(b - a <= 64 - 16 for a, b in zip(starts, starts[1:]))


def test_paper_mode_is_stochastic_eval_is_deterministic(unet_dir):
    x = signed(3, 32, 32)
    paper = Translator.load(unet_dir, device="cpu")
    assert paper.mode == "paper"
    assert not torch.equal(paper.translate(x), paper.translate(x))
    evaluate = Translator.load(unet_dir, device="cpu", mode="eval")
    assert torch.equal(evaluate.translate(x), evaluate.translate(x))


def test_seed_makes_paper_mode_reproducible(unet_dir):
    x = signed(3, 32, 32)
    first = Translator.load(unet_dir, device="cpu", seed=7)
    state = torch.get_rng_state()
    out = first.translate(x)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random state is untouched
    assert torch.equal(Translator.load(unet_dir, device="cpu", seed=7).translate(x), out)
    assert not torch.equal(Translator.load(unet_dir, device="cpu", seed=8).translate(x), out)


def test_input_kinds_and_channel_matching(unet_dir, tmp_path):
    t = i2i.load(unet_dir, device="cpu", mode="eval")
    rgb = torch.randint(0, 256, (3, 24, 40), dtype=torch.uint8)
    from_tensor = t.translate(rgb)
    assert isinstance(from_tensor, Image.Image) and from_tensor.size == (40, 24) and from_tensor.mode == "RGB"
    pil = Image.fromarray(rgb.permute(1, 2, 0).numpy())
    assert np.array_equal(np.asarray(t.translate(pil)), np.asarray(from_tensor))
    pil.save(tmp_path / "in.png")
    assert np.array_equal(np.asarray(t.translate(tmp_path / "in.png")), np.asarray(from_tensor))
    grey16 = (rgb[:1].to(torch.int32) * 257).to(torch.uint16)
    assert torch.equal(t.prepare(grey16), t.prepare(rgb[:1].expand(3, -1, -1)))
    assert t.translate(pil.convert("P")).size == (40, 24)


def test_batch_keeps_order_and_sizes(unet_dir):
    t = Translator.load(unet_dir, device="cpu", mode="eval", batch_size=2)
    images = [signed(3, 16, 16, seed=1), signed(3, 24, 8, seed=2), signed(3, 16, 16, seed=3)]
    outputs = t.translate_batch(images)
    assert [o.shape for o in outputs] == [(3, 16, 16), (3, 24, 8), (3, 16, 16)]
    assert torch.allclose(outputs[2], t.translate(images[2]), atol=1e-5)


def test_bf16_is_close_to_fp32(unet_dir):
    x = signed(3, 32, 32)
    fp32 = Translator.load(unet_dir, device="cpu", mode="eval").translate(x)
    bf16 = Translator.load(unet_dir, device="cpu", mode="eval", precision="bf16").translate(x)
    assert bf16.dtype == torch.float32
    assert (bf16 - fp32).abs().max() < 0.05


def write_images(folder, names, size=(20, 12)):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(np.full((size[1], size[0], 3), 40 * i, dtype=np.uint8)).save(folder / name)


def test_cli_translates_folders_and_globs(unet_dir, tmp_path):
    write_images(tmp_path / "a", ["x.png", "y.jpg"])
    write_images(tmp_path / "b", ["x.png", "z.png", "notes.txt.png"])
    (tmp_path / "b" / "readme.txt").write_text("not an image")
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "a"), str(tmp_path / "b" / "*"),
                                      "-o", str(tmp_path / "out"), "--mode", "eval", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["notes.txt.png", "x-2.png", "x.png", "y.png", "z.png"]
    assert read_image(tmp_path / "out" / "y.png").shape == (3, 12, 20)


def test_cli_tiles_and_quiet(unet_dir, tmp_path):
    write_images(tmp_path / "in", ["big.png"], size=(100, 70))
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "in" / "big.png"), "-o",
                                      str(tmp_path / "out"), "--tile", "32", "--overlap", "8", "--seed", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert read_image(tmp_path / "out" / "big.png").shape == (3, 70, 100)


def error_line(result) -> str:
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    return errors[0]


def test_cli_bad_image_names_the_file(unet_dir, tmp_path):
    write_images(tmp_path / "in", ["good.png"])
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "in"), "-o", str(tmp_path / "o")])
    assert "broken.png" in error_line(result)


def test_cli_no_inputs_and_bad_model(unet_dir, tmp_path):
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "*.png"), "-o", str(tmp_path)])
    assert "no input images matched" in error_line(result)
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "nope.png"), "-o", str(tmp_path)])
    assert "input not found" in error_line(result)
    write_images(tmp_path / "in", ["a.png"])
    result = CliRunner().invoke(cli, ["translate", str(tmp_path), str(tmp_path / "in"), "-o", str(tmp_path / "o")])
    assert "neither an i2i model dir" in error_line(result)
    result = CliRunner().invoke(cli, ["translate", str(unet_dir), str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                                      "--tile", "20"])
    assert "tile size 20" in error_line(result)


def test_importing_the_cli_and_help_import_no_torch():
    code = ("import sys, i2i.cli\n"
            "assert 'torch' not in sys.modules, 'import i2i.cli imported torch'\n"
            "i2i.cli.cli(['--help'], standalone_mode=False)\n"
            "i2i.cli.cli(['translate', '--help'], standalone_mode=False)\n"
            "assert 'torch' not in sys.modules, 'i2i --help imported torch'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_float_npy_files_are_scaled_from_unit_range_like_training_data(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((8, 8, 3), dtype=np.float32))  # 0 in [0, 1] is -1 in [-1, 1]
    prepared = translator(PointwiseGenerator()).prepare(tmp_path / "x.npy")
    assert torch.equal(prepared, torch.full((3, 8, 8), -1.0))
