"""Full-reference image metrics: L1, MSE, PSNR and SSIM between generated and target images.

``update`` takes batches (N, C, H, W) in [-1, 1], as the generator outputs them. L1 is measured on
that scale (it is the paper's L1 term); MSE, PSNR and SSIM on the images mapped to [0, 1] (data
range 1). Every metric is the mean of per-image values over all images seen since ``reset``; values
stay on the device until ``compute``, so updating never synchronises with the host.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from i2i.api import DataError, Metric

PSNR_CAP_DB = 100.0
"""The most PSNR reports: identical images (MSE 0) score this rather than infinity, so means and JSON
logs stay finite. Real errors score far below it (one 8-bit level on every pixel is 48 dB)."""


class PerImageMetric(Metric):
    """A metric whose value is the mean over images of ``score``, one value per image."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._values: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        if output.dim() != 4 or output.shape != target.shape:
            raise DataError(
                f"{type(self).__name__} needs output and target batches of one (N, C, H, W) shape, "
                f"got {tuple(output.shape)} and {tuple(target.shape)}"
            )
        self._values.append(self.score(output.float(), target.float()))

    def compute(self) -> float:
        if not self._values:
            raise DataError(f"{type(self).__name__} has seen no images: call update() before compute()")
        return torch.cat(self._values).mean().item()

    def score(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-image values (N,) for float batches in [-1, 1]."""
        raise NotImplementedError


def _unit_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error of the images mapped from [-1, 1] to [0, 1]."""
    return ((output - target) / 2).square().mean((1, 2, 3))


class L1Metric(PerImageMetric):
    """Mean absolute error on the [-1, 1] scale, as in the paper's L1 term; lower is better."""

    higher_is_better = False

    def score(self, output, target):
        return (output - target).abs().mean((1, 2, 3))


class MSEMetric(PerImageMetric):
    """Mean squared error on images in [0, 1]; lower is better."""

    higher_is_better = False

    def score(self, output, target):
        return _unit_mse(output, target)


class PSNRMetric(PerImageMetric):
    """Peak signal-to-noise ratio in dB (data range 1), averaged per image; identical images score 100."""

    def score(self, output, target):
        floor = 10.0 ** (-PSNR_CAP_DB / 10)
        return -10 * torch.log10(_unit_mse(output, target).clamp_min(floor))


def gaussian_kernel(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """A normalised 1-D Gaussian of ``size`` taps, on the device and dtype of ``like``."""
    offsets = torch.arange(size, device=like.device, dtype=like.dtype) - (size - 1) / 2
    weights = torch.exp(-offsets.square() / (2 * sigma**2))
    return weights / weights.sum()


class SSIMMetric(PerImageMetric):
    """Structural similarity (Wang et al. 2004) on images in [0, 1], averaged over channels and images.

    Gaussian window (``window_size`` taps, ``sigma``), constants ``(k1, k2)`` for data range 1,
    population (co)variances, and only windows that lie fully inside the image, as
    ``skimage.metrics.structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.
    """

    def __init__(self, window_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> None:
        self.window_size, self.sigma, self.k1, self.k2 = window_size, sigma, k1, k2
        super().__init__()

    def score(self, output, target):
        if min(output.shape[-2:]) < self.window_size:
            raise DataError(
                f"SSIM needs images of at least {self.window_size}x{self.window_size} pixels, "
                f"got {output.shape[-2]}x{output.shape[-1]}"
            )
        x, y = (output + 1) / 2, (target + 1) / 2
        mean_x, mean_y, mean_xx, mean_yy, mean_xy = self._blur(torch.cat([x, y, x * x, y * y, x * y])).chunk(5)
        var_x, var_y = mean_xx - mean_x.square(), mean_yy - mean_y.square()
        cov = mean_xy - mean_x * mean_y
        c1, c2 = self.k1**2, self.k2**2
        ssim = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / (
            (mean_x.square() + mean_y.square() + c1) * (var_x + var_y + c2)
        )
        return ssim.mean((1, 2, 3))

    def _blur(self, images: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian filter per channel, keeping only fully covered positions."""
        channels = images.shape[1]
        kernel = gaussian_kernel(self.window_size, self.sigma, images)
        rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
        images = F.conv2d(images, rows, groups=channels)
        return F.conv2d(images, rows.transpose(2, 3), groups=channels)
