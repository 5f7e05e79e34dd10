"""The authors' port's networks: ResNet generators (counts, layout, state dicts) and every norm's counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from i2i.core.errors import ConfigError
from i2i.core.plugin_manager import get_registry
from i2i_plugins.layers import meta_build, parameter_count
from i2i_plugins.patchgan import (Image286Discriminator, Patch16Discriminator, Patch70Discriminator,
                                  PixelDiscriminator)
from i2i_plugins.resnet import Resnet6BlocksGenerator, Resnet9BlocksGenerator, ResnetBlock, ResnetGenerator
from i2i_plugins.unet import EncoderDecoderGenerator, UNet128Generator, UNet256Generator

PORT_NORMS = {"batch": nn.BatchNorm2d,
              "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
              "none": lambda c: nn.Identity()}


class PortResnetBlock(nn.Module):
    """The port's ``ResnetBlock`` (reflect padding), written from its description."""

    def __init__(self, dim: int, norm, dropout: bool, bias: bool) -> None:
        super().__init__()
        block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim), nn.ReLU(True)]
        block += [nn.Dropout(0.5)] if dropout else []
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class PortResnet(nn.Module):
    """The port's ``ResnetGenerator``: its use_bias is "the norm is instance norm"."""

    def __init__(self, ngf: int = 64, n_blocks: int = 9, norm: str = "batch", dropout: bool = True,
                 in_nc: int = 3, out_nc: int = 3) -> None:
        super().__init__()
        layer, bias = PORT_NORMS[norm], norm == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, ngf, 7, padding=0, bias=bias), layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                      layer(ngf * mult * 2), nn.ReLU(True)]
        model += [PortResnetBlock(ngf * 4, layer, dropout, bias) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                         bias=bias), layer(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


def randomized(module: nn.Module) -> dict[str, torch.Tensor]:
    """Random weights and running statistics in ``module`` (in place); its state dict."""
    torch.manual_seed(0)
    with torch.no_grad():
        for key, tensor in module.state_dict().items():
            if key.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            elif key.endswith("num_batches_tracked"):
                tensor.fill_(3)
            elif tensor.is_floating_point():
                tensor.normal_(0.0, 0.1)
    return module.state_dict()


# --- ResNet generators -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, norm, expected", [
    (Resnet9BlocksGenerator, "batch", 11_383_427),
    (Resnet9BlocksGenerator, "instance", 11_378_179),
    (Resnet6BlocksGenerator, "batch", 7_841_411),
    (Resnet6BlocksGenerator, "instance", 7_837_699),
])
def test_resnet_parameter_counts_match_the_port(cls, norm, expected):
    assert parameter_count(meta_build(lambda: cls(norm=norm))) == expected


@pytest.mark.parametrize("n_blocks, norm, dropout", [(9, "batch", True), (9, "instance", True), (6, "batch", False),
                                                     (6, "none", True)])
def test_resnet_has_the_ports_keys_and_shapes(n_blocks, norm, dropout):
    ours = meta_build(lambda: ResnetGenerator(n_blocks=n_blocks, norm=norm, dropout=0.5 if dropout else 0))
    port = meta_build(lambda: PortResnet(n_blocks=n_blocks, norm=norm, dropout=dropout))
    assert [(k, t.shape) for k, t in ours.state_dict().items()] == [(k, t.shape) for k, t in port.state_dict().items()]


@pytest.mark.parametrize("norm, dropout", [("batch", True), ("instance", False), ("none", True)])
def test_resnet_port_state_dict_loads_bit_identically_and_round_trips(norm, dropout):
    port = PortResnet(ngf=8, n_blocks=3, norm=norm, dropout=dropout, out_nc=2)
    state = randomized(port)
    net = ResnetGenerator.from_port_state_dict(state)
    blocks = sum(isinstance(m, ResnetBlock) for m in net.model)
    assert (net.out_channels, blocks, net.model[1].out_channels) == (2, 3, 8)
    port.eval(), net.eval()
    x = torch.randn(2, 3, 36, 28)
    with torch.no_grad():
        assert torch.equal(net(x), port(x))
    back = net.port_state_dict()
    assert list(back) == list(state) and all(torch.equal(back[k], state[k]) for k in state)
    PortResnet(ngf=8, n_blocks=3, norm=norm, dropout=dropout, out_nc=2).load_state_dict(back)


def test_resnet_port_config_is_read_from_the_tensors():
    from i2i_plugins.port_layout import resnet_config

    config = resnet_config(meta_build(lambda: PortResnet(ngf=16, n_blocks=6, norm="instance", dropout=False,
                                                         in_nc=1)).state_dict())
    assert config == {"in_channels": 1, "out_channels": 3, "ngf": 16, "n_blocks": 6, "norm": "instance",
                      "dropout": 0.0, "padding": "reflect"}
    zero = meta_build(lambda: ResnetGenerator(ngf=4, n_blocks=2, padding="zero")).state_dict()
    assert resnet_config(zero)["padding"] == "zero" and resnet_config(zero)["dropout"] == 0.5


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"model.99.weight": torch.zeros(1)}), "unknown keys: model.99.weight"),
    (lambda s: s.pop("model.2.running_mean"), "missing keys: model.2.running_mean"),
    (lambda s: s.update({"model.10.conv_block.1.weight": torch.zeros(5)}), r"wrong shapes: model.10.conv_block"),
])
def test_resnet_port_layout_mismatches_are_clear_errors(change, message):
    state = dict(PortResnet(ngf=4, n_blocks=2).state_dict())
    change(state)
    with pytest.raises(ConfigError, match=message):
        ResnetGenerator.from_port_state_dict(state)
    with pytest.raises(ConfigError, match="not a pix2pix PyTorch port ResNet"):
        ResnetGenerator.from_port_state_dict(Patch16Discriminator(ndf=4).state_dict())


def test_resnet_options_and_sizes():
    net = ResnetGenerator(in_channels=1, out_channels=2, ngf=4, n_blocks=1)
    assert net(torch.randn(1, 1, 20, 12)).shape == (1, 2, 20, 12)
    with pytest.raises(ConfigError, match="multiples of 4"):
        net(torch.randn(1, 1, 18, 12))
    for cls, bad in ((ResnetGenerator, dict(norm="group")), (ResnetGenerator, dict(padding="circular")),
                     (ResnetGenerator, dict(n_blocks=-1)), (Resnet9BlocksGenerator, dict(n_blocks=6))):
        with pytest.raises(ConfigError):
            cls(**bad)
    registry = get_registry()
    assert registry.resolve("generators", "resnet_9blocks") is Resnet9BlocksGenerator
    assert registry.resolve("generators", "resnet_6blocks") is Resnet6BlocksGenerator
    assert Resnet9BlocksGenerator.info()["parameters"] == 11_383_427


# --- every built-in network under every norm ---------------------------------------------------------

@pytest.mark.parametrize("cls, counts", [
    # (batch, instance, none); instance has no affine parameters, its convs a bias (i2i and the port agree)
    (UNet256Generator, (54_413_955, 54_409_603, 54_409_603)),
    (UNet128Generator, (41_828_995, 41_825_667, 41_825_667)),
    (EncoderDecoderGenerator, (39_075_459, 39_071_107, 39_071_107)),
    (PixelDiscriminator, (9_024, 8_897, 8_897)),
    (Patch16Discriminator, (139_585, 139_457, 139_457)),
    (Patch70Discriminator, (2_768_705, 2_767_809, 2_767_809)),
    (Image286Discriminator, (11_159_361, 11_157_441, 11_157_441)),
    # the port's ResNet rule: a bias only with instance norm, so "none" has fewer parameters
    (Resnet9BlocksGenerator, (11_383_427, 11_378_179, 11_372_931)),
    (Resnet6BlocksGenerator, (7_841_411, 7_837_699, 7_833_987)),
])
def test_parameter_counts_per_norm(cls, counts):
    nets = {norm: meta_build(lambda: cls(norm=norm)) for norm in ("batch", "instance", "none")}
    assert tuple(parameter_count(net) for net in nets.values()) == counts
    convs = [m for m in nets["instance"].modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(m.bias is not None for m in convs)  # the port's rule: no norm shift to stand in for a bias
    instance = [m for m in nets["instance"].modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(instance) == sum(isinstance(m, nn.BatchNorm2d) for m in nets["batch"].modules())
    assert all(not m.affine and not m.track_running_stats for m in instance)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in nets["none"].modules())


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_unet_port_state_dict_converts_for_instance_norm(norm):
    """(The batch-norm layout is checked against the released checkpoints' in test_networks.py.)"""
    from i2i_plugins.port_layout import unet_config, unet_to_port
    from i2i_plugins.unet import UNetGenerator

    net = UNetGenerator(ngf=4, num_downs=5, norm=norm)
    state = unet_to_port(randomized(net))
    assert "model.model.1.model.2.weight" not in state  # InstanceNorm2d(affine=False) holds no tensors
    back = UNetGenerator.from_port_state_dict(state)
    assert unet_config(state)["norm"] == "instance"
    assert all(torch.equal(back.state_dict()[k], v) for k, v in net.state_dict().items())


class PortNLayer(nn.Module):
    """The port's ``NLayerDiscriminator`` (its use_bias: the norm is instance norm)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        layer, bias = PORT_NORMS[norm], norm == "instance"
        seq, mult = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)], 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2 if n < n_layers else 1, 1, bias=bias), layer(ndf * mult),
                    nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(*seq, nn.Conv2d(ndf * mult, 1, 4, 1, 1))

    def forward(self, x):
        return self.model(x)


class PortPixel(nn.Module):
    """The port's ``PixelDiscriminator``: its layers sit in ``net``."""

    def __init__(self, input_nc: int, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        layer, bias = PORT_NORMS[norm], norm == "instance"
        self.net = nn.Sequential(nn.Conv2d(input_nc, ndf, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(ndf, ndf * 2, 1, bias=bias), layer(ndf * 2), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(ndf * 2, 1, 1, bias=bias))

    def forward(self, x):
        return self.net(x)


PORT_DISCRIMINATORS = pytest.mark.parametrize("cls, port", [
    (Patch16Discriminator, lambda norm: PortNLayer(6, 8, 1, norm)),
    (Patch70Discriminator, lambda norm: PortNLayer(6, 8, 3, norm)),
    (Image286Discriminator, lambda norm: PortNLayer(6, 8, 5, norm)),
    (PixelDiscriminator, lambda norm: PortPixel(6, 8, norm)),
])


@PORT_DISCRIMINATORS
@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_discriminators_load_the_ports_state_dicts(cls, port, norm):
    reference = port(norm)
    state = randomized(reference)
    net = cls.from_port_state_dict(state)
    assert parameter_count(net) == parameter_count(reference)
    reference.eval(), net.eval()
    x = torch.randn(1, 6, 96, 96)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))
    with pytest.raises(ConfigError, match="wrong shapes"):
        cls.from_port_state_dict(state, in_channels=1, out_channels=3)


@PORT_DISCRIMINATORS
def test_discriminators_give_the_ports_state_dicts_and_keep_their_own_keys(cls, port):
    """i2i -> port: ``port_state_dict`` loads strictly into the port's class (same outputs). i2i's own keys stay
    ``model.N.*`` for every discriminator (the format of D in run dirs' checkpoints), the pixel one included,
    whose port keys are ``net.N.*``: both directions convert, and i2i's dicts load back unchanged."""
    net, reference = cls(3, 3, ndf=8), port("batch")
    randomized(net)
    assert all(key.startswith("model.") for key in net.state_dict())
    port_keys = net.port_state_dict()
    assert port_keys.keys() == reference.state_dict().keys()
    reference.load_state_dict(port_keys)
    net.eval(), reference.eval()
    x = torch.randn(1, 6, 96, 96)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))
    again = cls(3, 3, ndf=8)
    again.load_state_dict(net.state_dict())
    back = cls.from_port_state_dict(port_keys)
    for other in (again.eval(), back.eval()):
        with torch.no_grad():
            assert torch.equal(other(x), reference(x))
