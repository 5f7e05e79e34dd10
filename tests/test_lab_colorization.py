"""Lab colour conversion, colorization in Lab (L in, ab out, the input's L kept) and the compose step."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from skimage.color import lab2rgb, rgb2lab
from test_modeldir import save

from i2i.cli import cli
from i2i.data.lab import lab_to_srgb, lightness_grey, srgb_to_lab
from i2i.models.translator import Translator
from i2i_tasks.lab_colorization import AB_SCALE, compose_lab, lab_pair
from i2i_tasks.pair_makers import centre_hole_pair, paste_known
from i2i_plugins.unet import UNetGenerator


def photo(seed: int = 0, size: int = 32) -> torch.Tensor:
    """A uint8 RGB (3, size, size) image with smooth colours and noise (covers much of the gamut)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size)
    base = np.stack([np.add.outer(ramp, ramp) / 2, np.outer(np.ones(size), ramp[::-1]), np.add.outer(ramp[::-1], 0 * ramp)])
    noisy = base + rng.normal(0, 40, base.shape)
    return torch.from_numpy(noisy.clip(0, 255).astype(np.uint8))


def signed(image: torch.Tensor) -> torch.Tensor:
    return image.double() / 127.5 - 1


def test_lab_matches_scikit_image_both_ways():
    image = photo()
    ours = srgb_to_lab(signed(image)[None])[0].permute(1, 2, 0).numpy()
    expected = rgb2lab(image.permute(1, 2, 0).numpy())
    assert np.abs(ours - expected).max() < 1e-3
    back = lab_to_srgb(torch.from_numpy(expected).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.abs((back + 1) / 2 - lab2rgb(expected)).max() < 1e-4


def test_lab_round_trip_is_exact():
    rgb = signed(photo(1))[None]
    assert (lab_to_srgb(srgb_to_lab(rgb)) - rgb).abs().max() < 1e-9


def test_lab_pair_and_compose_rebuild_the_photo():
    image = photo(2)
    a, b = lab_pair(image, torch.Generator())
    assert a.shape == (1, 32, 32) and b.shape == (2, 32, 32) and a.dtype == b.dtype == torch.float32
    assert b.abs().max() <= 1
    rebuilt = compose_lab(a[None], b[None])[0]
    assert (rebuilt - signed(image).float()).abs().max() < 1e-3  # float32 storage of L and ab only
    lab = srgb_to_lab(signed(image)[None])
    assert torch.allclose(b.double(), lab[0, 1:] / AB_SCALE, atol=1e-6)
    assert torch.allclose(srgb_to_lab(a[None].expand(-1, 3, -1, -1))[0, 0], lab[0, 0], atol=1e-3)


def test_compose_keeps_the_input_lightness_exactly():
    grey = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(3)) - 0.5
    ab = torch.rand(2, 2, 16, 16, generator=torch.Generator().manual_seed(4)) * 0.1 - 0.05  # in gamut for these greys
    out = compose_lab(grey, ab)
    assert out.shape == (2, 3, 16, 16)
    lab = srgb_to_lab(out)
    assert torch.allclose(lab[:, :1], srgb_to_lab(grey.expand(-1, 3, -1, -1))[:, :1], atol=1e-4)
    assert torch.allclose(lab[:, 1:] / AB_SCALE, ab.double(), atol=1e-4)
    # a = b = 0 gives the grey back (to 1e-4: D65 white and the sRGB matrix rows differ in the 5th digit)
    assert (compose_lab(grey, torch.zeros(2, 2, 16, 16)) - grey).abs().max() < 1e-4
    assert torch.allclose(lightness_grey(out), grey.double(), atol=1e-4)


def test_inpainting_compose_keeps_known_pixels():
    a, b = centre_hole_pair(photo(5), torch.Generator())
    output = torch.full((1, 3, 32, 32), 0.25)
    pasted = paste_known(a[None], output)[0]
    hole = a[3] < 0
    assert torch.equal(pasted[:, ~hole], b[:, ~hole]) and torch.equal(pasted[:, hole], output[0][:, hole])
    assert torch.equal(paste_known(a[None], b[None])[0], b)


@pytest.fixture
def colour_model(tmp_path):
    torch.manual_seed(0)
    args = {"num_downs": 3, "ngf": 8}
    generator = UNetGenerator(in_channels=1, out_channels=2, **args)
    with torch.no_grad():  # small a, b: colours inside the sRGB gamut, where the lightness is kept exactly
        generator.decoder[-1].conv.weight.mul_(0.02)
    return save(tmp_path / "model", generator, "unet", args, task="colorization", inference_mode="eval",
                train_batch_size=4, compose=True)


def test_translate_delivers_the_input_lightness_with_predicted_colour(colour_model, tmp_path):
    grey = (photo(6)[:1] // 2 + 64).expand(3, -1, -1).contiguous()  # mid greys
    Image.fromarray(grey.permute(1, 2, 0).numpy()).save(tmp_path / "bw.png")
    translator = Translator.load(colour_model, device="cpu")
    output = translator.translate(signed(grey)[:1].float())
    assert output.shape == (3, 32, 32)
    raw = translator.generator(signed(grey)[:1].float()[None])
    assert torch.allclose(output, compose_lab(signed(grey)[:1].float()[None], raw)[0], atol=1e-5)
    assert torch.allclose(srgb_to_lab(output[None].double())[0, 0], srgb_to_lab(signed(grey)[None])[0, 0], atol=1e-3)
    result = CliRunner().invoke(cli, ["translate", str(colour_model), str(tmp_path / "bw.png"), "-o",
                                      str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(tmp_path / "out" / "bw.png"))
    assert written.shape == (32, 32, 3)
    lightness = rgb2lab(written)[..., 0]
    assert np.abs(lightness - rgb2lab(grey.permute(1, 2, 0).numpy())[..., 0]).max() < 1.0  # 8-bit rounding


def test_eval_scores_the_composed_images(colour_model, tmp_path):
    for split in ("train", "test"):
        (tmp_path / "photos" / split).mkdir(parents=True)
        for seed in range(2):
            Image.fromarray(photo(seed).permute(1, 2, 0).numpy()).save(tmp_path / "photos" / split / f"p{seed}.png")
    result = CliRunner().invoke(cli, ["eval", str(colour_model), "--data", str(tmp_path / "photos"), "--split", "test",
                                      "--metrics", "lab_hist,psnr", "-o", str(tmp_path / "report"), "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())["metrics"]
    assert metrics["lab_hist.L"] > 0.999  # the outputs keep the targets' lightness
    target = np.asarray(Image.open(next((tmp_path / "report" / "images").glob("*p0_target.png"))))
    assert target.shape == (32, 32, 3) and np.abs(target.astype(int) - photo(0).permute(1, 2, 0).numpy()).max() <= 1
