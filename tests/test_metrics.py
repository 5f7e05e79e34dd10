"""Image metrics: agreement with scikit-image, per-image averaging, accumulation, edge cases, registration."""

import math
import subprocess
import sys

import pytest
import torch

from i2i.core.errors import DataError
from i2i_plugins.image_metrics import PSNR_CAP_DB, L1Metric, MSEMetric, PSNRMetric, SSIMMetric

SSIM_TOLERANCE = 1e-5  # float32 here vs float64 in scikit-image
PSNR_TOLERANCE_DB = 1e-4


def measure(metric, output, target):
    metric.update(output, target)
    return metric.compute()


def random_pair(shape, noise, seed):
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=generator) * 2 - 1
    return (target + noise * torch.randn(shape, generator=generator)).clamp(-1, 1), target


def structured_pair(shape):
    """A smooth gradient with rings as the target; a shifted, attenuated, banded copy as the output."""
    n, c, h, w = shape
    y, x = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    radius = (x.square() + y.square()).sqrt()
    target = torch.stack([torch.sin(8 * radius + k) * 0.5 + 0.4 * x for k in range(c)])
    output = 0.8 * target.roll(2, dims=-1) + 0.1 * torch.sign(torch.sin(20 * y))
    return output.expand(n, c, h, w).clamp(-1, 1), target.expand(n, c, h, w).clamp(-1, 1)


PAIRS = {
    "noise rgb": random_pair((2, 3, 48, 48), 0.3, 0),
    "noise grey odd size": random_pair((2, 1, 40, 57), 0.1, 1),
    "structured": structured_pair((1, 3, 64, 64)),
}


def unit_numpy(images):
    return ((images.double() + 1) / 2).numpy()


@pytest.mark.parametrize("name", PAIRS)
def test_ssim_and_psnr_match_scikit_image(name):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    output, target = PAIRS[name]
    ssims = [
        skimage_metrics.structural_similarity(
            o, t, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0
        )
        for o, t in zip(unit_numpy(output), unit_numpy(target))
    ]
    psnrs = [
        skimage_metrics.peak_signal_noise_ratio(t, o, data_range=1)
        for o, t in zip(unit_numpy(output), unit_numpy(target))
    ]
    assert measure(SSIMMetric(), output, target) == pytest.approx(sum(ssims) / len(ssims), abs=SSIM_TOLERANCE)
    assert measure(PSNRMetric(), output, target) == pytest.approx(sum(psnrs) / len(psnrs), abs=PSNR_TOLERANCE_DB)


def test_psnr_is_the_mean_of_per_image_values():
    target = torch.zeros(2, 3, 16, 16)
    output = target.clone()
    output[0] += 0.02  # unit-scale error 0.01 -> 40 dB
    output[1] += 0.2  # unit-scale error 0.1 -> 20 dB
    psnr = measure(PSNRMetric(), output, target)
    assert psnr == pytest.approx(30.0, abs=1e-4)
    pooled = -10 * math.log10((0.01**2 + 0.1**2) / 2)  # about 22.97 dB: what pooling the MSE would give
    assert abs(psnr - pooled) > 5


def test_l1_and_mse_values_and_scales():
    output, target = torch.ones(1, 3, 8, 8), -torch.ones(1, 3, 8, 8)
    assert measure(L1Metric(), output, target) == pytest.approx(2.0)  # [-1, 1] scale
    assert measure(MSEMetric(), output, target) == pytest.approx(1.0)  # [0, 1] scale
    assert measure(MSEMetric(), torch.full((1, 1, 4, 4), 0.2), torch.zeros(1, 1, 4, 4)) == pytest.approx(0.01)


def test_identical_images_score_perfectly():
    image = PAIRS["structured"][1]
    assert measure(L1Metric(), image, image) == 0.0
    assert measure(MSEMetric(), image, image) == 0.0
    assert measure(PSNRMetric(), image, image) == PSNR_CAP_DB
    assert measure(SSIMMetric(), image, image) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("metric_class", [L1Metric, MSEMetric, PSNRMetric, SSIMMetric])
def test_batches_accumulate_and_reset_forgets(metric_class):
    output, target = random_pair((5, 3, 24, 24), 0.2, 3)
    whole = measure(metric_class(), output, target)
    metric = metric_class()
    metric.update(output[:2], target[:2])
    metric.update(output[2:], target[2:])
    assert metric.compute() == pytest.approx(whole, rel=1e-6)
    metric.reset()
    metric.update(output[:1], target[:1])
    assert metric.compute() == pytest.approx(measure(metric_class(), output[:1], target[:1]), rel=1e-6)


def test_direction_of_improvement():
    assert not L1Metric.higher_is_better and not MSEMetric.higher_is_better
    assert PSNRMetric.higher_is_better and SSIMMetric.higher_is_better
    output, target = random_pair((1, 3, 32, 32), 0.1, 4)
    worse, _ = random_pair((1, 3, 32, 32), 0.4, 4)
    for metric_class in (L1Metric, MSEMetric, PSNRMetric, SSIMMetric):
        better_score, worse_score = measure(metric_class(), output, target), measure(metric_class(), worse, target)
        assert (better_score > worse_score) == metric_class.higher_is_better


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="no images"):
        PSNRMetric().compute()
    with pytest.raises(DataError, match="shape"):
        L1Metric().update(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(DataError, match="at least 11x11"):
        SSIMMetric().update(torch.zeros(1, 3, 8, 32), torch.zeros(1, 3, 8, 32))


def test_metrics_are_registered_by_name(monkeypatch):
    from i2i.core import plugin_manager as plugins

    monkeypatch.delenv(plugins.ENV_PLUGINS, raising=False)
    plugins.reset_plugins()
    try:
        registry = plugins.get_registry()
        expected = {"l1": L1Metric, "mse": MSEMetric, "psnr": PSNRMetric, "ssim": SSIMMetric}
        assert {name: registry.resolve("metrics", name) for name in expected} == expected
        assert registry.get("metrics", "ssim").source.plugin == "metrics"
    finally:
        plugins.reset_plugins()


def test_registering_imports_no_torch():
    code = "import sys, i2i_plugins.metrics; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
