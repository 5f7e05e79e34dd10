"""The standard FID features (Inception-v3 pool3, 2048-d) and the registered ``fid`` and ``kid`` metrics.

Weights are never downloaded. In order, the metrics use: the ``weights`` argument; ``$I2I_INCEPTION_WEIGHTS``;
``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid's port of the TensorFlow FID graph, the standard)
or torchvision's ``inception_v3_google-0cc3c7bd.pth`` in torch's hub cache (``$TORCH_HOME/hub/checkpoints``).
Without any, the metrics are skipped with that reason. The FID graph differs from torchvision's
Inception-v3 in four blocks' pooling (average pools that exclude padding, a max pool in the last
block) and has 1008 classes; torchvision's weights give valid but not published-comparable numbers.
Images are resized to 299×299 (bilinear) and fed in [-1, 1], as pytorch-fid does.
"""

from __future__ import annotations

import os
import pkgutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.inception import (BasicConv2d, Inception3, InceptionA, InceptionAux, InceptionB, InceptionC,
                                          InceptionD, InceptionE)

from i2i.api import ConfigError, FeatureExtractor, FIDMetric, KIDMetric, MetricUnavailable, resolve_device
from i2i_plugins.weights import first_detail, load_weights

WEIGHTS_ENV = "I2I_INCEPTION_WEIGHTS"
FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
TORCHVISION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"
FID_CLASSES = 1008
INPUT_SIZE = 299


def _average_without_padding(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class _TFPooling:
    """Recompute a block's pool branch with the TensorFlow graph's pooling (the other branches are torchvision's)."""

    pool = staticmethod(_average_without_padding)

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = super()._forward(x)
        outputs[-1] = self.branch_pool(self.pool(x))
        return outputs


class FIDInceptionA(_TFPooling, InceptionA):
    pass


class FIDInceptionC(_TFPooling, InceptionC):
    pass


class FIDInceptionE1(_TFPooling, InceptionE):
    pass


class FIDInceptionE2(_TFPooling, InceptionE):
    pool = staticmethod(_max_pool)


def fid_inception() -> Inception3:
    """The FID graph's Inception-v3 (uninitialised): keys and shapes of ``pt_inception-2015-12-05``."""
    blocks = [BasicConv2d, FIDInceptionA, InceptionB, FIDInceptionC, InceptionD, FIDInceptionE1, InceptionAux]
    net = Inception3(num_classes=FID_CLASSES, aux_logits=False, init_weights=False, inception_blocks=blocks)
    net.Mixed_7c = FIDInceptionE2(2048)
    return net


class InceptionFeatures(nn.Module):
    """Pool3 features (N, 2048) of images in [-1, 1], any size (resized to 299, grey repeated to RGB)."""

    def __init__(self, net: Inception3) -> None:
        super().__init__()
        self.net = net.eval()
        self.layers = [net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1, net.Conv2d_3b_1x1,
                       net.Conv2d_4a_3x3, net.maxpool2, net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a,
                       net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e, net.Mixed_7a, net.Mixed_7b,
                       net.Mixed_7c, net.avgpool]

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        x = images.float().to(device)
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        for layer in self.layers:
            x = layer(x)
        return x.flatten(1).cpu()


def find_weights(weights: str | None) -> Path:
    """The Inception weights to use (see the module docstring), or :class:`MetricUnavailable`."""
    named = weights or os.environ.get(WEIGHTS_ENV)
    if named:
        return Path(named).expanduser()
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    for name in (FID_WEIGHTS, TORCHVISION_WEIGHTS):
        if (cache / name).is_file():
            return cache / name
    raise MetricUnavailable(f"needs Inception-v3 weights: pass --metric-arg fid.weights=FILE (kid.weights) or set "
                            f"${WEIGHTS_ENV} to {FID_WEIGHTS} (pytorch-fid's; standard FID) or torchvision's "
                            f"{TORCHVISION_WEIGHTS}")


def load_inception(weights: str | None = None, device: str = "auto") -> InceptionFeatures:
    """The pool3 feature extractor with the FID graph (1008 classes) or torchvision's network, by the weights."""
    path = find_weights(weights)
    state = load_weights(path)
    fc = state.get("fc.weight")
    with torch.device("meta"):  # no initialisation: every tensor comes from the file
        if fc is not None and fc.shape[0] == FID_CLASSES:
            net = fid_inception()
        else:
            net = Inception3(aux_logits=any(k.startswith("AuxLogits.") for k in state), init_weights=False)
    try:
        net.load_state_dict(state, assign=True)
    except RuntimeError as exc:
        raise ConfigError(f"{path} is not Inception-v3 weights: {first_detail(exc)}") from None
    return InceptionFeatures(net).to(resolve_device(device))


def load_extractor(extractor: str | None, weights: str | None, device: str) -> FeatureExtractor:
    """A ``"module:attr"`` extractor factory if named, else the Inception features."""
    if extractor is None:
        return load_inception(weights, device)
    try:
        return pkgutil.resolve_name(extractor)()
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"cannot load feature extractor {extractor!r}: {exc}") from None


class InceptionFID(FIDMetric):
    """FID on Inception-v3 pool3 features; ``extractor="module:attr"`` plugs another feature network."""

    def __init__(self, weights: str | None = None, extractor: str | None = None, device: str = "auto") -> None:
        super().__init__(load_extractor(extractor, weights, device))


class InceptionKID(KIDMetric):
    """KID (mean and std over subsets) on Inception-v3 pool3 features, or ``extractor``'s."""

    def __init__(self, weights: str | None = None, extractor: str | None = None, device: str = "auto",
                 subsets: int = 100, subset_size: int = 1000) -> None:
        super().__init__(load_extractor(extractor, weights, device), subsets, subset_size)
