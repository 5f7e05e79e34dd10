"""FCN-score on Cityscapes: the label palette, segmenters and the registered ``fcn_score``/``label_score``.

Colour label maps (the pix2pix archive's B side, ``gtFine_color``) are read back to the 19 train
ids by the nearest palette colour over the full Cityscapes palette, so void classes (ground,
parking, rail track, ...) become the ignore label 255 instead of a near class. Colours shared by
an evaluated and a void class (pole/polegroup, car/license plate) read as the evaluated class.

Segmenters (images in [-1, 1] → train ids):

- an i2i model trained on ``cityscapes-photo2labels``: its colour output, nearest of the 19
  train-id colours (``segmenter=MODEL_DIR``);
- a torchvision segmentation network (``fcn_resnet50``, ``deeplabv3_resnet50``, ...) built with 19
  classes, fed ImageNet-normalised RGB, with the user's Cityscapes weights (``weights=FILE`` or
  ``$I2I_FCN_WEIGHTS``: ``.safetensors``, or a ``.pth`` state dict read with ``weights_only=True``);
- any ``"module:attr"`` factory returning such a callable (``segmenter=pkg.mod:make``).
"""

from __future__ import annotations

import os
import pkgutil
from pathlib import Path

import torch

from i2i.api import (IGNORE_LABEL, ConfigError, DataError, Metric, MetricUnavailable, SegmentationScore,
                     confusion_matrix, load, resolve_device, segmentation_scores)
from i2i_plugins.weights import first_detail, load_weights

WEIGHTS_ENV = "I2I_FCN_WEIGHTS"
SEGMENTER_ENV = "I2I_FCN_SEGMENTER"
TRAIN_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                 "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                 "motorcycle", "bicycle")
TRAIN_COLORS = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
                (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
                (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
                (0, 80, 100), (0, 0, 230), (119, 11, 32))
VOID_COLORS = ((0, 0, 0), (111, 74, 0), (81, 0, 81), (250, 170, 160), (230, 150, 140), (180, 165, 180),
               (150, 100, 100), (150, 120, 90), (0, 0, 90), (0, 0, 110))
"""Colours of Cityscapes classes left out of evaluation (unlabeled/ego vehicle/rectification border/
out of roi/static share black; dynamic, ground, parking, rail track, guard rail, bridge, tunnel,
caravan, trailer)."""
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def nearest_color_ids(images: torch.Tensor, colors, ids) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] → (N, H, W) int64: ``ids[k]`` of the nearest ``colors[k]`` (RGB 0–255)."""
    if images.shape[1] != 3:
        raise DataError(f"Cityscapes label maps are RGB images, got {images.shape[1]} channels")
    palette = torch.tensor(colors, dtype=torch.float32, device=images.device)
    pixels = ((images.float() + 1) * 127.5).permute(0, 2, 3, 1)
    nearest = torch.cdist(pixels.reshape(-1, 3), palette).argmin(1)
    return torch.tensor(ids, device=images.device)[nearest].view(pixels.shape[:3]).cpu()


def decode_label_colors(images: torch.Tensor) -> torch.Tensor:
    """Colour label maps → train ids, void classes → 255 (see the module docstring)."""
    ids = (*range(len(TRAIN_COLORS)), *[IGNORE_LABEL] * len(VOID_COLORS))
    return nearest_color_ids(images, TRAIN_COLORS + VOID_COLORS, ids)


def decode_predicted_colors(images: torch.Tensor) -> torch.Tensor:
    """A generated label map → train ids by the nearest of the 19 train-id colours (never 255)."""
    return nearest_color_ids(images, TRAIN_COLORS, range(len(TRAIN_COLORS)))


class ModelSegmenter:
    """An i2i photo → labels model as a segmenter: translate, then read the colours back to train ids."""

    def __init__(self, model: Path | str, device: str = "auto") -> None:
        self.translator = load(model, device=device, mode="eval")

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack(self.translator.translate_batch(list(images.float())))
        return decode_predicted_colors(outputs)


class TorchvisionSegmenter:
    """A torchvision segmentation network with 19 Cityscapes classes and the user's weights."""

    def __init__(self, arch: str, weights: Path | str, device: str = "auto") -> None:
        from torchvision.models import segmentation

        builder = getattr(segmentation, arch, None)
        if arch.startswith("_") or not callable(builder) or isinstance(builder, type):
            raise ConfigError(f"unknown torchvision segmentation model {arch!r} "
                              f"(e.g. fcn_resnet50, deeplabv3_resnet50)")
        state = load_weights(weights)
        aux = any(key.startswith("aux_classifier.") for key in state)
        net = builder(weights=None, weights_backbone=None, num_classes=len(TRAIN_CLASSES), aux_loss=aux)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ConfigError(f"{weights} does not fit {arch} with {len(TRAIN_CLASSES)} classes: "
                              f"{first_detail(exc)}") from None
        self.device = resolve_device(device)
        self.net = net.to(self.device).eval()
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = ((images.float().to(self.device) + 1) / 2 - self.mean) / self.std
        return self.net(x)["out"].argmax(1).cpu()


def load_segmenter(segmenter: str | None, weights: str | None, arch: str, device: str):
    """The segmenter the arguments (or ``$I2I_FCN_SEGMENTER`` / ``$I2I_FCN_WEIGHTS``) name."""
    segmenter = segmenter or os.environ.get(SEGMENTER_ENV)
    weights = weights or os.environ.get(WEIGHTS_ENV)
    if segmenter:
        if Path(segmenter).expanduser().is_dir():
            return ModelSegmenter(Path(segmenter).expanduser(), device)
        if ":" in segmenter:
            try:
                return pkgutil.resolve_name(segmenter)()
            except (ImportError, AttributeError, ValueError) as exc:
                raise ConfigError(f"cannot load segmenter {segmenter!r}: {exc}") from None
        raise ConfigError(f"segmenter {segmenter!r} is neither a model folder nor a 'module:attr' factory")
    if weights:
        return TorchvisionSegmenter(arch, weights, device)
    raise MetricUnavailable(
        f"needs a Cityscapes segmenter: --metric-arg fcn_score.segmenter=MODEL (an i2i cityscapes-photo2labels "
        f"model) or fcn_score.weights=FILE / ${WEIGHTS_ENV} ({arch} weights with 19 classes)")


class FCNScore(SegmentationScore):
    """The paper's FCN-score for labels → photo: segment the outputs and the real photos, compare with the
    input label map. Arguments: ``segmenter`` (model folder or "module:attr"), ``weights`` + ``arch``
    (torchvision), ``absent`` ("exclude" or "zero", see :mod:`i2i.eval.fcn_score`), ``device``."""

    def __init__(self, segmenter: str | None = None, weights: str | None = None, arch: str = "fcn_resnet50",
                 absent: str = "exclude", device: str = "auto") -> None:
        super().__init__(load_segmenter(segmenter, weights, arch, device), decode_label_colors,
                         len(TRAIN_CLASSES), absent)


class LabelScore(Metric):
    """Photo → labels: the generated label map's colours (nearest train-id colour) against the target's,
    scored like the FCN-score (pixel_acc, class_acc, iou; ``compute`` is the IoU). No segmenter needed."""

    def __init__(self, absent: str = "exclude") -> None:
        self.absent = absent
        self.reset()

    def reset(self) -> None:
        self.confusion = torch.zeros(len(TRAIN_CLASSES), len(TRAIN_CLASSES), dtype=torch.int64)

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        self.confusion += confusion_matrix(decode_label_colors(target), decode_predicted_colors(output),
                                           len(TRAIN_CLASSES))

    def values(self) -> dict[str, float]:
        return segmentation_scores(self.confusion, self.absent)

    def compute(self) -> float:
        return self.values()["iou"]
