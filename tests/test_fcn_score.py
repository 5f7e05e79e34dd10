"""FCN-score: confusion maths with ignore labels and absent classes, Cityscapes colours, pluggable segmenters."""

import numpy as np
import pytest
import torch

from i2i.core.errors import ConfigError, DataError
from i2i.eval.fcn_score import confusion_matrix, segmentation_scores
from i2i.eval.metric_set import MetricUnavailable
from i2i_plugins.fcn import (TRAIN_COLORS, FCNScore, LabelScore, decode_label_colors, decode_predicted_colors)

ROAD, POLE, SKY, CAR = 0, 5, 10, 13
GROUND = (81, 0, 81)  # a void class: ignored

# Ground truth (4 classes, 255 = ignore) and predictions, pixel by pixel:
#   class 0: 4 pixels predicted 0, 0, 1, 2   class 1: 2 pixels predicted 1, 0
#   class 2: no pixels (but predicted once)  class 3: absent everywhere
#   two ignored pixels, predicted 3 (they must not count)
LABELS = torch.tensor([0, 0, 0, 0, 1, 1, 255, 255])
PREDICTIONS = torch.tensor([0, 0, 1, 2, 1, 0, 3, 3])


def test_confusion_counts_rows_as_ground_truth_and_drops_ignored_pixels():
    expected = torch.tensor([[2, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert torch.equal(confusion_matrix(LABELS.view(2, 4), PREDICTIONS.view(2, 4), 4), expected)


def test_scores_by_hand_with_absent_classes_excluded():
    """pixel 3/6; class acc mean(2/4, 1/2); IoU mean(2/(4+3-2), 1/(2+2-1)) over the classes present."""
    scores = segmentation_scores(confusion_matrix(LABELS, PREDICTIONS, 4))
    assert scores == pytest.approx({"pixel_acc": 0.5, "class_acc": 0.5, "iou": (0.4 + 1 / 3) / 2})


def test_zero_rule_is_the_released_scripts_formula():
    """The authors' get_scores: +1e-12 in every denominator, then nanmean (absent classes count as 0)."""
    confusion = confusion_matrix(LABELS, PREDICTIONS, 4)
    hist = confusion.numpy().astype(float)
    acc = np.diag(hist).sum() / (hist.sum() + 1e-12)
    cl_acc = np.nanmean(np.diag(hist) / (hist.sum(1) + 1e-12))
    iu = np.nanmean(np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist) + 1e-12))
    scores = segmentation_scores(confusion, absent="zero")
    assert scores == pytest.approx({"pixel_acc": acc, "class_acc": cl_acc, "iou": iu})
    assert scores == pytest.approx({"pixel_acc": 0.5, "class_acc": 0.25, "iou": (0.4 + 1 / 3) / 4})


def test_bad_segmentations_are_clear_errors():
    with pytest.raises(DataError, match="outside 0..3"):
        confusion_matrix(LABELS, PREDICTIONS.clone().fill_(255), 4)
    with pytest.raises(DataError, match="no labelled pixels"):
        segmentation_scores(confusion_matrix(torch.full((4,), 255), torch.zeros(4, dtype=torch.long), 4))
    with pytest.raises(ConfigError, match="absent-class rule"):
        segmentation_scores(torch.eye(3), absent="skip")


def colour_map(rows):
    """A (1, 3, H, W) image in [-1, 1] from rows of RGB tuples."""
    return torch.tensor(rows, dtype=torch.float32).permute(2, 0, 1)[None] / 127.5 - 1


def train_colour(index):
    return TRAIN_COLORS[index]


# A 4x4 label map: 6 road, 4 sky, 4 car, 2 void (ground) pixels.
SCENE = [[train_colour(ROAD)] * 4,
         [train_colour(ROAD)] * 2 + [train_colour(SKY)] * 2,
         [train_colour(CAR)] * 2 + [train_colour(SKY)] * 2,
         [GROUND] * 2 + [train_colour(CAR)] * 2]
WRONG = [row[:] for row in SCENE]
WRONG[3][2:] = [train_colour(ROAD)] * 2  # two car pixels painted as road
# pixel 12/14; class acc mean(1, 1, 1/2); IoU road 6/(6+8-6), sky 1, car 2/(4+2-2)
EXPECTED_WRONG = {"pixel_acc": 12 / 14, "class_acc": 2.5 / 3, "iou": (0.75 + 1 + 0.5) / 3}


def test_label_colours_read_back_to_train_ids():
    noisy = colour_map(SCENE) + 8 / 127.5 * torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    ids = decode_label_colors(noisy.clamp(-1, 1))[0]
    assert ids[0].tolist() == [ROAD] * 4 and ids[2].tolist() == [CAR, CAR, SKY, SKY]
    assert ids[3].tolist() == [255, 255, CAR, CAR]
    shared = colour_map([[(153, 153, 153), (0, 0, 142)]])  # polegroup / license plate colours
    assert decode_label_colors(shared)[0, 0].tolist() == [POLE, CAR]
    assert decode_predicted_colors(colour_map([[GROUND]])).item() != 255


def colour_segmenter():
    """A stand-in segmenter factory for the "module:attr" plug: reads label colours as if they were photos."""
    return decode_predicted_colors


def test_fcn_score_with_a_plugged_segmenter_reports_outputs_and_ground_truth():
    metric = FCNScore(segmenter="test_fcn_score:colour_segmenter")
    metric.update(colour_map(WRONG), colour_map(SCENE), colour_map(SCENE))
    assert metric.values() == pytest.approx(EXPECTED_WRONG)
    assert metric.reference() == pytest.approx({"pixel_acc": 1.0, "class_acc": 1.0, "iou": 1.0})
    assert metric.compute() == pytest.approx(EXPECTED_WRONG["iou"])
    small = torch.nn.functional.interpolate(colour_map(WRONG), size=(2, 2), mode="nearest")
    metric.update(small, colour_map(SCENE), colour_map(SCENE))  # outputs of another size are resized first
    assert metric.confusion["output"].sum() == 28


def test_label_score_for_photo_to_labels():
    metric = LabelScore()
    metric.update(colour_map(WRONG), colour_map(SCENE))
    assert metric.values() == pytest.approx(EXPECTED_WRONG)


def test_fcn_score_without_a_segmenter_is_unavailable(monkeypatch):
    monkeypatch.delenv("I2I_FCN_WEIGHTS", raising=False)
    monkeypatch.delenv("I2I_FCN_SEGMENTER", raising=False)
    with pytest.raises(MetricUnavailable, match="I2I_FCN_WEIGHTS"):
        FCNScore()


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_torchvision_segmenter_loads_user_weights(tmp_path, monkeypatch, suffix):
    from safetensors.torch import save_file
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torch.manual_seed(0)
    net = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=19)
    path = tmp_path / f"seg{suffix}"
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    monkeypatch.setenv("I2I_FCN_WEIGHTS", str(path))
    metric = FCNScore(arch="lraspp_mobilenet_v3_large", device="cpu")
    scene = torch.nn.functional.interpolate(colour_map(SCENE), scale_factor=8, mode="nearest")
    metric.update(scene, scene, scene)
    assert metric.confusion["output"].sum() == 14 * 64
    assert set(metric.values()) == {"pixel_acc", "class_acc", "iou"}
    with pytest.raises(ConfigError, match="does not fit deeplabv3_mobilenet_v3_large"):
        FCNScore(arch="deeplabv3_mobilenet_v3_large", device="cpu")
    with pytest.raises(ConfigError, match="unknown torchvision segmentation model"):
        FCNScore(arch="FCN", device="cpu")


def test_an_i2i_photo_to_labels_model_segments(tmp_path):
    from i2i.core.plugin_manager import get_registry
    from i2i.models.modeldir import model_config, save_model_dir

    torch.manual_seed(0)
    args = {"ngf": 8, "num_downs": 2}
    generator = get_registry().resolve("generators", "unet")(**args)
    save_model_dir(tmp_path, generator.state_dict(), model_config(
        "unet", args, in_channels=3, out_channels=3, load_size=4, crop_size=4, task="demo", inference_mode="eval"))
    metric = FCNScore(segmenter=str(tmp_path), device="cpu")
    metric.update(colour_map(WRONG), colour_map(SCENE), colour_map(SCENE))
    assert metric.confusion["output"].sum() == 14 and 0 <= metric.compute() <= 1
