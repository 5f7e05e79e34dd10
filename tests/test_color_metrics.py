"""Colour analysis (Lab, histogram intersection, plots), colourfulness and MS-SSIM against independent references."""

import sys

import numpy as np
import pytest
import torch

from i2i.core.errors import DataError
from i2i.eval.metric_set import MetricSet, MetricUnavailable
from i2i_plugins.color_metrics import ColorfulnessMetric, LabHistogramMetric, colorfulness, srgb_to_lab
from i2i_plugins.msssim import MS_SSIM_WEIGHTS, MSSSIMMetric

LAB_TOLERANCE = 1e-3  # CIE constants written exactly here, rounded (0.008856, 7.787) in scikit-image
MS_SSIM_TOLERANCE = 1e-5  # float32 here vs float64 in the numpy reference


def solid(rgb, count=1, size=8):
    """(count, 3, size, size) images of one 0-255 colour, in [-1, 1]."""
    colour = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1
    return colour.expand(count, 3, size, size).clone()


def test_lab_matches_scikit_image():
    color = pytest.importorskip("skimage.color")
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    images[0, :, 0, :8] = torch.tensor([[-1, 1, -1, 1, -1, 1, -1, 1], [-1, -1, 1, 1, -1, -1, 1, 1],
                                        [-1, -1, -1, -1, 1, 1, 1, 1]], dtype=torch.float32)  # the cube's corners
    expected = np.stack([color.rgb2lab(((image.double().numpy() + 1) / 2).transpose(1, 2, 0), illuminant="D65")
                         for image in images]).transpose(0, 3, 1, 2)
    assert np.abs(srgb_to_lab(images).numpy() - expected).max() < LAB_TOLERANCE


def intersections(output, target):
    metric = LabHistogramMetric()
    metric.update(output, target)
    return metric.values()


def test_identical_sets_intersect_fully():
    images = torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert intersections(images, images.flip(0)) == pytest.approx({"L": 1.0, "a": 1.0, "b": 1.0}, abs=1e-6)


def test_disjoint_colours_intersect_nowhere():
    green, blue = solid((0, 255, 0), 2), solid((0, 0, 255), 2)  # Lab (88, -86, 83) and (32, 79, -108)
    assert intersections(green, blue) == {"L": 0.0, "a": 0.0, "b": 0.0}


def test_hand_computed_intersection():
    """Outputs: 3/4 black, 1/4 white pixels; targets: half and half. L: min(.75,.5) + min(.25,.5) = .75;
    black and white are both neutral (a = b = 0), so a and b intersect fully."""
    output = torch.cat([solid((0, 0, 0), 3), solid((255, 255, 255), 1)])
    target = torch.cat([solid((0, 0, 0), 2), solid((255, 255, 255), 2)])
    assert intersections(output, target) == pytest.approx({"L": 0.75, "a": 1.0, "b": 1.0})
    metric = LabHistogramMetric()
    metric.update(output, target)
    assert metric.compute() == pytest.approx((0.75 + 1 + 1) / 3)


def test_colorfulness_hand_computed_and_reference():
    """Half red, half green: rg = ±255 (σ 255, μ 0), yb = 127.5 (σ 0, μ 127.5) → 255 + 0.3 · 127.5."""
    image = solid((255, 0, 0), 1, 8)
    image[..., 4:] = solid((0, 255, 0), 1, 8)[..., 4:]
    assert colorfulness(image).item() == pytest.approx(293.25, rel=1e-5)
    grey = solid((90, 90, 90), 1)
    metric = ColorfulnessMetric()
    metric.update(grey, image)
    assert metric.compute() == pytest.approx(0.0, abs=1e-4) and metric.reference() == pytest.approx(293.25, rel=1e-5)


def fed_lab_metrics():
    output, target = solid((200, 30, 30), 2), solid((30, 30, 200), 2)
    metrics = MetricSet({"lab_hist": LabHistogramMetric()})
    metrics.update(target, output, target)
    return metrics


def test_lab_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    plots = fed_lab_metrics().draw(tmp_path)
    assert plots["lab_hist"] == tmp_path / "lab_hist.png"
    assert plots["lab_hist"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lab_plot_is_skipped_with_the_install_hint_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    metrics = fed_lab_metrics()
    with pytest.raises(MetricUnavailable, match=r"i2i-pix2pix\[plots\]"):
        LabHistogramMetric.draw({"run": metrics.active["lab_hist"]}, tmp_path / "p.png")
    assert metrics.draw(tmp_path) == {}
    assert "install i2i-pix2pix[plots]" in metrics.skipped["lab_hist plot"]


# --- MS-SSIM ----------------------------------------------------------------------------------------

def _blur_valid(image, window):
    """Separable correlation with ``window`` over the positions where it fits (numpy, float64)."""
    rows = np.lib.stride_tricks.sliding_window_view(image, window.size, axis=0) @ window
    return np.lib.stride_tricks.sliding_window_view(rows, window.size, axis=1) @ window


def reference_ms_ssim(x, y, weights=MS_SSIM_WEIGHTS, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Wang et al. 2003 for one (H, W) channel in [0, 1], written directly in numpy."""
    offsets = np.arange(size) - (size - 1) / 2
    window = np.exp(-offsets**2 / (2 * sigma**2))
    window /= window.sum()
    c1, c2 = k1**2, k2**2
    value = 1.0
    for scale, weight in enumerate(weights):
        mx, my = _blur_valid(x, window), _blur_valid(y, window)
        vx, vy = _blur_valid(x * x, window) - mx**2, _blur_valid(y * y, window) - my**2
        cov = _blur_valid(x * y, window) - mx * my
        cs = (2 * cov + c2) / (vx + vy + c2)
        if scale == len(weights) - 1:
            term = (((2 * mx * my + c1) / (mx**2 + my**2 + c1)) * cs).mean()
        else:
            term = cs.mean()
            h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
            x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
            y = y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
        value *= max(term, 0.0) ** weight
    return value


def ms_ssim_pairs():
    generator = torch.Generator().manual_seed(2)
    h, w = 180, 197  # odd width: the pooling drops the last column
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    target = torch.stack([torch.sin(6 * (xx**2 + yy**2).sqrt() + k) * 0.6 + 0.3 * xx for k in range(3)])[None]
    blurred = 0.7 * target.roll(3, -1) + 0.1 * torch.sign(torch.sin(25 * yy))
    noisy = target + 0.3 * torch.randn(target.shape, generator=generator)
    return torch.cat([blurred, noisy]).clamp(-1, 1), torch.cat([target, target]).clamp(-1, 1)


def test_ms_ssim_matches_a_numpy_reference():
    output, target = ms_ssim_pairs()
    metric = MSSSIMMetric()
    metric.update(output, target)
    unit = lambda t: ((t.double() + 1) / 2).numpy()  # noqa: E731
    expected = np.mean([np.mean([reference_ms_ssim(o, t) for o, t in zip(oi, ti)])
                        for oi, ti in zip(unit(output), unit(target))])
    assert metric.compute() == pytest.approx(expected, abs=MS_SSIM_TOLERANCE)
    assert 0.05 < metric.compute() < 0.99


def test_one_scale_ms_ssim_is_scikit_image_ssim():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    output, target = ms_ssim_pairs()
    metric = MSSSIMMetric(weights=(1.0,))
    metric.update(output[:1, :, :40, :50], target[:1, :, :40, :50])
    expected = skimage_metrics.structural_similarity(
        ((output[0, :, :40, :50].double() + 1) / 2).numpy(), ((target[0, :, :40, :50].double() + 1) / 2).numpy(),
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0)
    assert metric.compute() == pytest.approx(expected, abs=MS_SSIM_TOLERANCE)


def test_ms_ssim_identical_is_one_and_small_images_are_a_clear_error():
    _, target = ms_ssim_pairs()
    metric = MSSSIMMetric()
    metric.update(target, target)
    assert metric.compute() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(DataError, match="at least 176x176"):
        MSSSIMMetric().update(target[..., :170, :], target[..., :170, :])


def test_training_validation_uses_a_new_metric(tmp_path):
    """The trainer's Validator resolves val_metrics from the registry: lab_hist works there."""
    from i2i.core.plugin_manager import get_registry
    from i2i.data.datasets import PairDataset
    from i2i.training.config import TrainConfig
    from i2i.training.validation import Validator
    from i2i_tasks.demo_data import synthesize

    synthesize(tmp_path, "val", count=2, size=36)
    registry = get_registry()
    config = TrainConfig.from_task(registry.resolve("tasks", "demo"), val_metrics=["lab_hist", "colorfulness"],
                                   best_metric="lab_hist", crop_size=32, load_size=36)
    generator = registry.resolve("generators", "unet")(ngf=8, num_downs=5)
    scores = Validator(config, registry, torch.device("cpu"), "fp32").evaluate(
        generator, PairDataset(tmp_path, "val", load_size=32, crop_size=32, train=False))
    assert set(scores) == {"lab_hist", "colorfulness"} and 0 <= scores["lab_hist"] <= 1
