"""A generator that takes any image size inside one traceable graph: pad to its size multiple, crop back.

The padding is the translator's (:func:`i2i.models.tiling.pad_to_multiple`): even on both sides, reflecting the
image, or replicating its edge where the image is too small to reflect that far. Reflection continues the
image's content into the border, so the network sees no artificial edge and the cropped-back output has
no dark frame (zero padding shows one); matching the translator makes an export's output equal
`i2i translate --mode eval`'s. Padding is written as index gathers with shape arithmetic and no Python
branches, so ``torch.export`` (ONNX) and TorchScript keep height and width dynamic.
"""

from __future__ import annotations

import torch
from torch import nn


def _pad_indices(length: int, padded: int, before: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source rows (or columns) for a padded axis: reflected, replicated, and whether reflection fits."""
    index = torch.arange(padded) - before
    period = torch.full((), 2 * length - 2).clamp(min=1)  # a tensor: ONNX has no symbolic-scalar remainder
    folded = torch.remainder(index, period)
    reflected = torch.where(folded >= length, period - folded, folded)
    replicated = index.clamp(0, length - 1)
    fits = (index.min() > -length) & (index.max() < 2 * length - 1)
    return reflected, replicated, fits


class AnySizeGenerator(nn.Module):
    """``generator`` wrapped so that (N, C, H, W) inputs of any H and W give outputs of the same size."""

    def __init__(self, generator: nn.Module, size_multiple: int) -> None:
        super().__init__()
        self.generator = generator
        self.size_multiple = size_multiple
        self.training = generator.training  # the wrapper's own flag only: the generator's modules keep theirs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        m = self.size_multiple
        padded_h, padded_w = (height + m - 1) // m * m, (width + m - 1) // m * m
        top, left = (padded_h - height) // 2, (padded_w - width) // 2
        rows_reflected, rows_replicated, rows_fit = _pad_indices(height, padded_h, top)
        cols_reflected, cols_replicated, cols_fit = _pad_indices(width, padded_w, left)
        reflect = rows_fit & cols_fit  # one mode for both axes, as the translator decides
        rows = torch.where(reflect, rows_reflected, rows_replicated)
        cols = torch.where(reflect, cols_reflected, cols_replicated)
        out = self.generator(x.index_select(2, rows).index_select(3, cols))
        return out[:, :, top:top + height, left:left + width]
