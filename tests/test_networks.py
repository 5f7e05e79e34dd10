"""The paper's networks: parameter counts, receptive fields, sizes, the port's layout, inference modes."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import nn

from i2i.core.components import restore_training_mode, set_inference_mode
from i2i.core.errors import ConfigError
from i2i.core.plugin_manager import get_registry
from i2i_plugins.layers import meta_build, parameter_count
from i2i_plugins.patchgan import (Image286Discriminator, Patch16Discriminator, Patch70Discriminator,
                                  PixelDiscriminator)
from i2i_plugins.unet import EncoderDecoderGenerator, UNet128Generator, UNet256Generator, UNetGenerator

# sha256 of shared/reference/unet256_batch_keys.tsv: "key\t(shape)" per line, the released checkpoints' layout
UNET256_BATCH_KEYS_SHA256 = "b5caf4654bc743a74565c341499b9752c4da31ba6931b9b37c0fa1275b7632fc"


class PortBlock(nn.Module):
    """The port's nested U-Net block, written from PAPER.md (batch norm; in-place activations as there)."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None = None, in_ch: int | None = None,
                 outermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        down = nn.Conv2d(in_ch or outer, inner, 4, 2, 1, bias=False)
        if outermost:
            layers = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif sub is None:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            layers += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class PortUNet(nn.Module):
    """The port's ``UnetGenerator`` (``num_downs`` >= 5), for checking the layout converter."""

    def __init__(self, num_downs: int = 8, ngf: int = 64) -> None:
        super().__init__()
        block = PortBlock(ngf * 8, ngf * 8)
        for _ in range(num_downs - 5):
            block = PortBlock(ngf * 8, ngf * 8, block, dropout=True)
        for mult in (4, 2, 1):
            block = PortBlock(ngf * mult, ngf * mult * 2, block)
        self.model = PortBlock(3, ngf, block, in_ch=3, outermost=True)

    def forward(self, x):
        return self.model(x)


def randomized_port_state(num_downs: int = 8, ngf: int = 64) -> tuple[PortUNet, dict]:
    """A port U-Net in eval mode with random weights and running statistics, and its state dict."""
    torch.manual_seed(0)
    port = PortUNet(num_downs, ngf).eval()
    with torch.no_grad():
        for key, tensor in port.state_dict().items():
            if key.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            elif key.endswith("num_batches_tracked"):
                tensor.fill_(7)
            elif tensor.dim() == 1:
                tensor.normal_(1.0 if key.endswith("weight") else 0.0, 0.1)
            else:
                tensor.normal_(0.0, 0.02)
    return port, port.state_dict()


# --- parameter counts and layout ---------------------------------------------------------------------

@pytest.mark.parametrize("build, expected", [
    (lambda: UNetGenerator(), 54_413_955),
    (lambda: UNetGenerator(norm="instance"), 54_409_603),
    (lambda: UNetGenerator(num_downs=7), 41_828_995),
    (lambda: UNet256Generator(), 54_413_955),
    (lambda: UNet128Generator(), 41_828_995),
    # the port's bias rule on the shared encoder: no bias on e1 and e8 either (biases there: 39,076,035)
    (lambda: EncoderDecoderGenerator(), 39_075_459),
    (lambda: Patch70Discriminator(in_channels=3, out_channels=3, conditional=True), 2_768_705),
])
def test_parameter_counts(build, expected):
    assert parameter_count(meta_build(build)) == expected


def test_unet256_matches_the_released_checkpoints_layout():
    port = meta_build(PortUNet)
    listing = "".join(f"{key}\t{tuple(t.shape)}\n" for key, t in port.state_dict().items())
    assert hashlib.sha256(listing.encode()).hexdigest() == UNET256_BATCH_KEYS_SHA256
    net = meta_build(UNetGenerator)
    assert len(net.state_dict()) == 82
    assert parameter_count(port) == parameter_count(net)


def test_bias_only_where_the_norm_is_not_batch_norm():
    batch = meta_build(UNetGenerator)
    assert [name for name, _ in batch.named_parameters() if name.endswith("conv.bias")] == ["decoder.7.conv.bias"]
    instance = meta_build(lambda: UNetGenerator(norm="instance"))
    assert sum(name.endswith("conv.bias") for name, _ in instance.named_parameters()) == 16
    assert not [name for name, _ in instance.named_parameters() if ".norm." in name]


@pytest.mark.parametrize("placement, layers", [("port", [1, 2, 3]), ("paper", [0, 1, 2])])
def test_dropout_placement(placement, layers):
    net = meta_build(lambda: UNetGenerator(dropout_placement=placement))
    assert [j for j, up in enumerate(net.decoder) if any(isinstance(m, nn.Dropout) for m in up)] == layers
    with pytest.raises(ConfigError):
        UNetGenerator(num_downs=3, dropout_placement="lua")


def test_paper_init():
    torch.manual_seed(0)
    disc = Patch70Discriminator()
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
    assert all(not m.bias.any() for m in convs if m.bias is not None)
    norms = [m for m in disc.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight for m in norms])
    assert abs(scales.mean().item() - 1) < 0.005 and abs(scales.std().item() - 0.02) < 0.005
    assert all(not m.bias.any() for m in norms)


def test_bad_options_are_config_errors():
    for cls, bad in ((UNetGenerator, dict(norm="group")), (UNetGenerator, dict(num_downs=1)),
                     (UNet256Generator, dict(num_downs=7))):
        with pytest.raises(ConfigError):
            cls(**bad)
    with pytest.raises(ConfigError):
        Patch70Discriminator(norm="layer")


# --- discriminators ----------------------------------------------------------------------------------

def measured_receptive_field(disc: nn.Module, size: int) -> int:
    """Side of the input region that one central output unit depends on (its gradient footprint)."""
    with torch.no_grad():
        for p in disc.parameters():
            p.abs_()
    x = torch.rand(1, disc.input_channels, size, size, requires_grad=True)
    out = disc(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = x.grad[0].abs().sum(0).sum(1).nonzero()
    cols = x.grad[0].abs().sum(0).sum(0).nonzero()
    assert rows.min() > 0 and rows.max() < size - 1  # the footprint does not touch the border
    assert rows.max() - rows.min() == cols.max() - cols.min()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize("cls, size", [(PixelDiscriminator, 16), (Patch16Discriminator, 64),
                                       (Patch70Discriminator, 256), (Image286Discriminator, 512)])
def test_receptive_fields(cls, size):
    disc = cls(ndf=8, norm="none")
    assert measured_receptive_field(disc, size) == cls.receptive_field == disc.receptive_field


def test_patch70_on_256_gives_30x30_logits_in_the_port_layout():
    disc = Patch70Discriminator()
    assert disc(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert list(disc.state_dict()) == [
        "model.0.weight", "model.0.bias", "model.2.weight",
        *(f"model.3.{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "model.5.weight",
        *(f"model.6.{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "model.8.weight",
        *(f"model.9.{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "model.11.weight", "model.11.bias"]
    info = Patch70Discriminator.info()
    assert info.pop("norm").startswith("norm=batch (default")
    assert info == {"parameters": 2_768_705, "receptive_field": "70x70", "output_for_256x256": "30x30"}


def test_unconditional_discriminator_sees_the_output_only():
    disc = Patch16Discriminator(in_channels=1, out_channels=3, conditional=False, ndf=4)
    assert not disc.conditional and disc(torch.randn(1, 3, 32, 32)).shape == (1, 1, 14, 14)
    with pytest.raises(ConfigError, match="expects 3 channels"):
        disc(torch.randn(1, 4, 32, 32))


# --- generator sizes ---------------------------------------------------------------------------------

def test_unet256_runs_at_256_and_512():
    torch.manual_seed(0)
    net = set_inference_mode(UNetGenerator(ngf=4), "eval")
    assert net.size_multiple == 256
    with torch.no_grad():
        for size in (256, 512):
            out = net(torch.randn(1, 3, size, size))
            assert out.shape == (1, 3, size, size) and out.abs().max() <= 1
        with pytest.raises(ConfigError, match="multiples of 256"):
            net(torch.randn(1, 3, 256, 384 - 64))


@pytest.mark.parametrize("cls", [UNetGenerator, EncoderDecoderGenerator])
def test_shallow_generators_keep_size_and_channels(cls):
    net = cls(in_channels=1, out_channels=2, ngf=4, num_downs=3)
    assert net(torch.randn(2, 1, 24, 40)).shape == (2, 2, 24, 40)
    with pytest.raises(ConfigError):
        net(torch.randn(1, 1, 20, 20))


def test_default_depth_follows_the_crop_size():
    assert [UNetGenerator.default_args(c) for c in (512, 256, 128, 64)] == [{"num_downs": n} for n in (8, 8, 7, 6)]
    assert UNet128Generator.default_args(256) == {"num_downs": 7}
    for cls, crop in ((UNetGenerator, 300), (UNetGenerator, 2), (UNet256Generator, 128)):
        with pytest.raises(ConfigError):
            cls.default_args(crop)


def test_info_reports_facts_at_the_defaults():
    info = UNetGenerator.info()
    assert info["parameters"] == 54_413_955 and info["size_multiple"] == 256 and "d2-d4" in info["dropout"]
    assert UNet128Generator.info()["parameters"] == 41_828_995


# --- the authors' layout -----------------------------------------------------------------------------

def test_port_state_dict_loads_exactly_and_round_trips():
    port, state = randomized_port_state()
    net = UNetGenerator.from_port_state_dict(state).eval()
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        assert torch.equal(net(x), port(x))
    back = net.port_state_dict()
    assert set(back) == set(state)
    assert all(torch.equal(back[key], state[key]) for key in state)


def test_port_depth_and_channels_are_read_from_the_tensors():
    _, state = randomized_port_state(num_downs=7, ngf=4)
    net = UNet128Generator.from_port_state_dict(state)
    assert (len(net.encoder), net.encoder[0].conv.out_channels, net.size_multiple) == (7, 4, 128)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"model.model.9.weight": torch.zeros(1)}), "unknown keys: model.model.9.weight"),
    (lambda s: s.pop("model.model.1.model.2.running_mean"), "missing keys: model.model.1.model.2.running_mean"),
    (lambda s: s.update({"model.model.0.bias": torch.zeros(4)}), "does not have: model.model.0.bias"),
    (lambda s: s.update({"model.model.3.bias": torch.zeros(5)}), r"wrong shapes: model.model.3.bias \(5,\)"),
])
def test_port_layout_mismatches_are_clear_errors(change, message):
    _, state = randomized_port_state(num_downs=5, ngf=4)
    change(state)
    with pytest.raises(ConfigError, match=message):
        UNetGenerator.from_port_state_dict(state)


def test_not_a_port_state_dict():
    with pytest.raises(ConfigError, match="not a pix2pix"):
        UNetGenerator.from_port_state_dict(Patch16Discriminator(ndf=4).state_dict())


# --- inference modes ---------------------------------------------------------------------------------

def test_inference_mode_switches_dropout_and_batch_statistics_in_place():
    torch.manual_seed(0)
    net = UNetGenerator(ngf=4, num_downs=6)  # dropout on d2
    x = torch.randn(2, 3, 64, 64)
    net(x)  # one training forward moves the running statistics

    def run(seed):
        torch.manual_seed(seed)
        with torch.no_grad():
            return net(x)

    set_inference_mode(net, "paper")
    running = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    paper = run(1)
    assert not torch.equal(paper, run(2))  # dropout on: stochastic
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in running.items())  # running stats untouched
    set_inference_mode(net, "eval")
    plain = run(1)
    assert torch.equal(plain, run(2))  # deterministic
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.add_(0.5)
    assert not torch.allclose(run(1), plain)  # eval uses the running statistics
    set_inference_mode(net, "paper")
    assert torch.equal(run(1), paper)  # paper mode ignores them: batch statistics
    restore_training_mode(net)
    assert torch.equal(run(1), paper)  # and equals training behaviour


@pytest.mark.parametrize("name, size", [("image286", 32), ("image286", 64), ("patch70", 16), ("patch16", 4)])
def test_small_inputs_are_padded_so_every_discriminator_runs(name, size):
    disc = get_registry().resolve("discriminators", name)(ndf=8)
    logits = disc(torch.randn(1, 6, size, size))
    assert logits.dim() == 4 and logits.shape[-1] >= 1
    big = torch.randn(1, 6, 3 * 2 ** disc.n_layers, 3 * 2 ** disc.n_layers)
    assert torch.equal(disc.eval()(big), disc.model(big))  # inputs at the minimum are untouched
