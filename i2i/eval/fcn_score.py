"""Segmentation scores (the paper's FCN-score): a confusion matrix summed over a split, and its accuracies.

Definitions, as in the paper and its evaluation code: rows are ground-truth classes, columns
predictions; per-pixel accuracy = trace / total; class accuracy of c = diag_c / row_c; class IoU of
c = diag_c / (row_c + col_c − diag_c); the reported class accuracy and IoU are means over classes.
Ground-truth pixels labelled 255 (or any id outside the classes) are ignored.

Classes with no ground-truth pixels: with ``absent="exclude"`` (the default) they are left out of
both means (``nanmean`` over classes present in the ground truth). The authors' released script
adds 1e-12 to every denominator, which turns those classes into zeros that its ``nanmean`` then
averages in (``absent="zero"``); on the full 500-frame Cityscapes val set every class is present
and the two agree.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from i2i.core.components import Metric
from i2i.core.errors import ConfigError, DataError

IGNORE_LABEL = 255
ABSENT_CLASSES = ("exclude", "zero")

Segmenter = Callable[[torch.Tensor], torch.Tensor]
"""(N, 3, H, W) images in [-1, 1] → (N, H, W) int64 class ids in [0, num_classes)."""


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts: [ground truth, prediction] over the labelled pixels."""
    if labels.shape != predictions.shape:
        raise DataError(f"labels {tuple(labels.shape)} and predictions {tuple(predictions.shape)} differ in shape")
    labels, predictions = labels.flatten().long(), predictions.flatten().long()
    keep = (labels >= 0) & (labels < num_classes)
    labels, predictions = labels[keep], predictions[keep]
    if predictions.numel() and (predictions.min() < 0 or predictions.max() >= num_classes):
        raise DataError(f"the segmenter predicted class ids outside 0..{num_classes - 1}")
    counts = torch.bincount(labels * num_classes + predictions, minlength=num_classes**2)
    return counts.view(num_classes, num_classes).cpu()


def segmentation_scores(confusion: torch.Tensor, absent: str = "exclude") -> dict[str, float]:
    """``pixel_acc``, ``class_acc`` (mean of diag / row sums) and ``iou`` (mean class IoU) of a confusion matrix."""
    if absent not in ABSENT_CLASSES:
        raise ConfigError(f"unknown absent-class rule {absent!r}; use one of {', '.join(ABSENT_CLASSES)}")
    confusion = confusion.double()
    total = confusion.sum()
    if total == 0:
        raise DataError("no labelled pixels to score: every ground-truth pixel is ignored (255)")
    diag, rows, cols = confusion.diagonal(), confusion.sum(1), confusion.sum(0)
    present = rows > 0
    class_acc = diag / rows.clamp_min(1)
    iou = diag / (rows + cols - diag).clamp_min(1)
    if absent == "exclude":
        class_acc, iou = class_acc[present], iou[present]
    return {"pixel_acc": (diag.sum() / total).item(), "class_acc": class_acc.mean().item(), "iou": iou.mean().item()}


class SegmentationScore(Metric):
    """The FCN-score: a segmenter labels the outputs (and, for the ground-truth row, the real images);
    both are compared with label maps that ``decode_labels`` reads from the generator's input.

    ``compute`` is the mean class IoU; ``values`` gives pixel_acc, class_acc and iou for the outputs,
    ``reference`` the same for the real images. Images whose size differs from the labels' are
    resized to it (bilinear) before segmenting, as the paper upsamples its outputs.
    """

    sees_input = True
    needs = "segmenter"

    def __init__(self, segmenter: Segmenter, decode_labels: Callable[[torch.Tensor], torch.Tensor],
                 num_classes: int = 19, absent: str = "exclude") -> None:
        if absent not in ABSENT_CLASSES:
            raise ConfigError(f"unknown absent-class rule {absent!r}; use one of {', '.join(ABSENT_CLASSES)}")
        self.segmenter, self.decode_labels = segmenter, decode_labels
        self.num_classes, self.absent = num_classes, absent
        self.reset()

    def reset(self) -> None:
        self.confusion = {side: torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)
                          for side in ("output", "real")}

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor, source: torch.Tensor) -> None:
        labels = self.decode_labels(source)
        for side, images in (("output", output), ("real", target)):
            if images.shape[-2:] != labels.shape[-2:]:
                images = F.interpolate(images.float(), size=labels.shape[-2:], mode="bilinear", align_corners=False)
            predictions = self.segmenter(images)
            self.confusion[side] += confusion_matrix(labels, predictions, self.num_classes)

    def _scores(self, side: str) -> dict[str, float]:
        return segmentation_scores(self.confusion[side], self.absent)

    def values(self) -> dict[str, float]:
        return self._scores("output")

    def reference(self) -> dict[str, float]:
        return self._scores("real")

    def compute(self) -> float:
        return self.values()["iou"]
