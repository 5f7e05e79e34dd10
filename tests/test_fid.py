"""FID and KID: the distance maths against closed forms and scipy, the metric path with a stand-in extractor,
and the Inception feature network's loading (random weights; no download)."""

import numpy as np
import pytest
import torch

from i2i.core.errors import DataError
from i2i.eval.fid import feature_statistics, frechet_distance, kernel_inception_distance, polynomial_mmd2
from i2i.eval.metric_set import MetricSet


def random_covariance(dim, seed):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    return a @ a.T / dim + 0.1 * torch.eye(dim, dtype=torch.float64)


def test_identical_statistics_are_at_distance_zero():
    features = torch.randn(64, 16, generator=torch.Generator().manual_seed(0))
    stats = feature_statistics(features)
    assert frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-9)


def test_commuting_gaussians_match_the_closed_form():
    """Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2."""
    a, b = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64), torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([3.0, 1.0, -2.0])
    expected = (9 + 0 + 16) + ((1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 0.5) ** 2)
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_general_gaussians_match_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    s1, s2 = random_covariance(8, 1), random_covariance(8, 2)
    mu1, mu2 = torch.zeros(8, dtype=torch.float64), torch.linspace(0, 1, 8, dtype=torch.float64)
    covmean = linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1.numpy() + s2.numpy() - 2 * covmean))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_statistics_use_the_sample_covariance():
    features = torch.randn(10, 3, generator=torch.Generator().manual_seed(3))
    mean, covariance = feature_statistics(features)
    assert np.allclose(covariance.numpy(), np.cov(features.double().numpy(), rowvar=False))
    assert np.allclose(mean.numpy(), features.double().mean(0).numpy())
    with pytest.raises(DataError, match="at least 2"):
        feature_statistics(features[:1])


def test_mmd_is_the_unbiased_estimator_written_out():
    generator = torch.Generator().manual_seed(4)
    x, y = torch.randn(5, 3, generator=generator, dtype=torch.float64), torch.randn(6, 3, generator=generator,
                                                                                   dtype=torch.float64) + 0.5
    k = lambda a, b: (float(a @ b) / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    yy = sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(6)) / (5 * 6)
    assert polynomial_mmd2(x, y).item() == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    generator = torch.Generator().manual_seed(5)
    x, y = torch.randn(200, 8, generator=generator), torch.randn(200, 8, generator=generator)
    same_mean, same_std = kernel_inception_distance(x, y, subsets=50, subset_size=50)
    shifted_mean, _ = kernel_inception_distance(x, y + 1.0, subsets=50, subset_size=50)
    assert abs(same_mean) < 3 * same_std / 50**0.5 + 0.02  # unbiased: centred on 0, may be negative
    assert shifted_mean > 20 * max(abs(same_mean), same_std / 50**0.5)
    with pytest.raises(DataError, match="at least 2"):
        kernel_inception_distance(x[:1], y)


class TinyExtractor:
    """A stand-in feature network: per-channel means and standard deviations of 4x4-pooled images."""

    def __call__(self, images):
        pooled = torch.nn.functional.avg_pool2d(images, 4)
        return torch.cat([pooled.mean((2, 3)), pooled.std((2, 3)), pooled.flatten(2).amax(2)], 1)


def test_fid_and_kid_run_end_to_end_with_a_plugged_extractor():
    from i2i.core.plugin_manager import get_registry

    generator = torch.Generator().manual_seed(6)
    targets = torch.rand(12, 3, 16, 16, generator=generator) * 2 - 1
    outputs = (targets * 0.5 + 0.2).clamp(-1, 1)
    plug = {"extractor": "test_fid:TinyExtractor"}
    metrics = MetricSet.build(get_registry(), ["fid", "kid"], {"fid": plug, "kid": {**plug, "subsets": 5}})
    assert not metrics.skipped
    for start in range(0, 12, 5):
        metrics.update(targets[start:start + 5], outputs[start:start + 5], targets[start:start + 5])
    features = TinyExtractor()
    expected = frechet_distance(*feature_statistics(features(outputs)), *feature_statistics(features(targets)))
    scores = metrics.scores()
    assert scores["fid"] == pytest.approx(expected, rel=1e-9) and scores["fid"] > 0
    assert set(scores) == {"fid", "kid.mean", "kid.std"} and scores["kid.mean"] > 0


def test_without_weights_fid_is_skipped_with_the_reason(tmp_path, monkeypatch):
    from i2i.core.plugin_manager import get_registry

    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    metrics = MetricSet.build(get_registry(), ["fid", "l1"])
    assert list(metrics.active) == ["l1"]
    assert "I2I_INCEPTION_WEIGHTS" in metrics.skipped["fid"] and "pt_inception" in metrics.skipped["fid"]


def test_the_fid_inception_graph_loads_weights_and_gives_pool3_features(tmp_path, monkeypatch):
    from i2i_plugins.inception import fid_inception, load_inception

    with torch.device("meta"):
        shapes = fid_inception().state_dict()
    assert shapes["fc.weight"].shape == (1008, 2048) and not any(k.startswith("AuxLogits") for k in shapes)
    generator = torch.Generator().manual_seed(0)
    state = {key: torch.zeros(v.shape, dtype=v.dtype) for key, v in shapes.items()}
    for key, value in state.items():  # random but sane weights (the real file is never downloaded)
        if key.endswith("running_var"):
            value.fill_(1.0)
        elif value.is_floating_point() and not key.endswith("running_mean"):
            value.normal_(0, 0.05, generator=generator)
    path = tmp_path / "pt_inception.pth"
    torch.save(state, path)
    monkeypatch.setenv("I2I_INCEPTION_WEIGHTS", str(path))
    extractor = load_inception(device="cpu")
    features = extractor(torch.rand(2, 1, 40, 56) * 2 - 1)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    assert torch.equal(extractor.net.fc.weight, state["fc.weight"])
