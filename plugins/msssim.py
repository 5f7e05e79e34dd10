"""Multi-scale structural similarity (Wang, Simoncelli & Bovik 2003) on images in [0, 1].

At each of the five scales the contrast-structure term ``cs`` (and at the coarsest also the
luminance term) is averaged over the valid Gaussian windows of each channel; the scales are
combined as ``prod_j cs_j ** w_j`` (SSIM at the coarsest) with the paper's weights, negative
terms clamped to 0 (as pytorch-msssim does, so fractional powers stay real), then averaged over
channels and images. Between scales both images are 2x2 average-pooled (odd edges dropped).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from i2i.api import DataError
from i2i_plugins.image_metrics import SSIMMetric

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


class MSSSIMMetric(SSIMMetric):
    """MS-SSIM with the 11-tap sigma-1.5 Gaussian window of :class:`SSIMMetric` and five scales.

    Needs images whose shorter side is at least 11 * 16 = 176 pixels (the window must fit the
    coarsest scale); ``weights`` sets the scales (one weight: plain per-channel SSIM).
    """

    def __init__(self, window_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
                 weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> None:
        self.weights = tuple(weights)
        super().__init__(window_size, sigma, k1, k2)

    def _terms(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Luminance and contrast-structure maps of SSIM over the valid windows."""
        mean_x, mean_y, mean_xx, mean_yy, mean_xy = self._blur(torch.cat([x, y, x * x, y * y, x * y])).chunk(5)
        var_x, var_y = mean_xx - mean_x.square(), mean_yy - mean_y.square()
        cov = mean_xy - mean_x * mean_y
        c1, c2 = self.k1**2, self.k2**2
        luminance = (2 * mean_x * mean_y + c1) / (mean_x.square() + mean_y.square() + c1)
        return luminance, (2 * cov + c2) / (var_x + var_y + c2)

    def score(self, output, target):
        coarsest = 2 ** (len(self.weights) - 1)
        if min(output.shape[-2:]) // coarsest < self.window_size:
            side = self.window_size * coarsest
            raise DataError(f"MS-SSIM with {len(self.weights)} scales needs images of at least {side}x{side} "
                            f"pixels, got {output.shape[-2]}x{output.shape[-1]}; use ssim for small images")
        x, y = (output + 1) / 2, (target + 1) / 2
        product = torch.ones(x.shape[:2], dtype=x.dtype, device=x.device)
        for scale, weight in enumerate(self.weights):
            luminance, contrast_structure = self._terms(x, y)
            if scale == len(self.weights) - 1:
                term = (luminance * contrast_structure).mean((2, 3))
            else:
                term = contrast_structure.mean((2, 3))
                x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
            product = product * term.clamp_min(0) ** weight
        return product.mean(1)
