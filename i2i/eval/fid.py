"""Fréchet Inception Distance and Kernel Inception Distance between the outputs' and the targets' features.

The distances work on any features: a ``FeatureExtractor`` maps (N, C, H, W) images in [-1, 1] to
(N, D) vectors. The standard one (Inception-v3 pool3, 2048-d) is in ``i2i_plugins.inception``;
tests and other domains plug their own.

- FID (Heusel et al. 2017): ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with the sample
  (N - 1) covariances, as pytorch-fid. ``Tr((S1 S2)^(1/2))`` is the sum of the square roots of
  the eigenvalues of ``S1^(1/2) S2 S1^(1/2)`` (symmetric, so no complex parts), in float64.
- KID (Bińkowski et al. 2018): the unbiased MMD² with the kernel ``(x·y / D + 1)^3``, averaged over
  random subsets (``subsets`` of ``subset_size``, fewer when the sets are small), with its std.
"""

from __future__ import annotations

from typing import Callable

import torch

from i2i.core.components import Metric
from i2i.core.errors import ConfigError, DataError

FeatureExtractor = Callable[[torch.Tensor], torch.Tensor]


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and sample covariance (divided by N - 1) of (N, D) features, in float64."""
    if features.shape[0] < 2:
        raise DataError(f"FID needs at least 2 images per set, got {features.shape[0]}")
    features = features.double()
    return features.mean(0), torch.cov(features.T).reshape(features.shape[1], features.shape[1])


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a positive semi-definite matrix (negative rounding clamped to 0)."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """The Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, sigma1, mu2, sigma2 = (t.double() for t in (mu1, sigma1, mu2, sigma2))
    root = _psd_sqrt(sigma1)
    middle = root @ sigma2 @ root
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    return ((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt).item()


def polynomial_mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² of two feature sets under the cubic polynomial kernel ``(x·y / D + 1)^3``."""
    m, n, dim = x.shape[0], y.shape[0], x.shape[1]
    k_xx, k_yy, k_xy = ((a @ b.T / dim + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    return ((k_xx.sum() - k_xx.trace()) / (m * (m - 1)) + (k_yy.sum() - k_yy.trace()) / (n * (n - 1))
            - 2 * k_xy.mean())


def kernel_inception_distance(x: torch.Tensor, y: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """Mean and std of the unbiased MMD² over ``subsets`` random subsets (without replacement) of each set."""
    size = min(subset_size, x.shape[0], y.shape[0])
    if size < 2:
        raise DataError(f"KID needs at least 2 images per set, got {min(x.shape[0], y.shape[0])}")
    generator = torch.Generator().manual_seed(seed)
    x, y = x.double(), y.double()
    estimates = torch.stack([
        polynomial_mmd2(x[torch.randperm(x.shape[0], generator=generator)[:size]],
                        y[torch.randperm(y.shape[0], generator=generator)[:size]])
        for _ in range(subsets)])
    return estimates.mean().item(), estimates.std(unbiased=False).item()


class FeatureDistance(Metric):
    """Collects ``extractor`` features of every output and target; subclasses compare the two sets."""

    higher_is_better = False
    needs = "features"

    def __init__(self, extractor: FeatureExtractor) -> None:
        self.extractor = extractor
        self.reset()

    def reset(self) -> None:
        self._features: dict[str, list[torch.Tensor]] = {"output": [], "target": []}

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        for side, images in (("output", output), ("target", target)):
            self._features[side].append(self.extractor(images.float()).double().cpu())

    def features(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._features["output"]:
            raise DataError(f"{type(self).__name__} has seen no images: call update() before compute()")
        return torch.cat(self._features["output"]), torch.cat(self._features["target"])


class FIDMetric(FeatureDistance):
    """Fréchet distance between the feature statistics of the outputs and of the targets (lower is better)."""

    def compute(self) -> float:
        outputs, targets = self.features()
        return frechet_distance(*feature_statistics(outputs), *feature_statistics(targets))


class KIDMetric(FeatureDistance):
    """Kernel distance between output and target features: ``values`` gives mean and std over subsets."""

    def __init__(self, extractor: FeatureExtractor, subsets: int = 100, subset_size: int = 1000) -> None:
        if subsets < 1 or subset_size < 2:
            raise ConfigError(f"KID needs subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
        self.subsets, self.subset_size = subsets, subset_size
        super().__init__(extractor)

    def values(self) -> dict[str, float]:
        mean, std = kernel_inception_distance(*self.features(), self.subsets, self.subset_size)
        return {"mean": mean, "std": std}

    def compute(self) -> float:
        return self.values()["mean"]
