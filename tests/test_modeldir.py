"""The model dir format: save/load round trip, run dirs, strict config and weight checks, atomic writes."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch import nn

from i2i.core.components import Generator, set_inference_mode
from i2i.core.errors import ConfigError, DataError, I2IError, UnknownComponentError
from i2i.core.hookspecs import hookimpl
from i2i.core.plugin_manager import get_plugins, get_registry
from i2i.core.registry import Source
from i2i.models.modeldir import load_config, load_generator, model_config, save_model_dir


class PointwiseGenerator(Generator):
    """A purely local generator (1x1 conv + tanh) that records the batch sizes it sees."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, size_multiple: int = 8) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.size_multiple = in_channels, out_channels, size_multiple
        self.conv = nn.Conv2d(in_channels, out_channels, 1)
        self.batch_sizes: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x)
        self.batch_sizes.append(x.shape[0])
        return torch.tanh(self.conv(x))


class TileMeanGenerator(Generator):
    """A maximally non-local generator: every output pixel is the mean of the whole input."""

    in_channels = out_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.mean((2, 3), keepdim=True) * self.scale).expand_as(x)


@hookimpl
def register_generators(register):
    register("test-pointwise", PointwiseGenerator)
    register("test-tilemean", TileMeanGenerator)


@pytest.fixture
def test_generators() -> None:
    """Register this module as an in-process plugin (again, if a test reset the plugin set)."""
    if "test-pointwise" not in get_registry().names("generators"):
        get_plugins().add(sys.modules[__name__], Source("i2i-test-generators", "i2i-tests", "0"))


def config_for(name: str, args: dict, channels: tuple[int, int] = (3, 3), **extra) -> dict:
    return model_config(name, args, in_channels=channels[0], out_channels=channels[1], load_size=36, crop_size=32,
                        **extra)


def save(path, generator: nn.Module, name: str, args: dict, **extra):
    return save_model_dir(path, generator.state_dict(),
                          config_for(name, args, (generator.in_channels, generator.out_channels), **extra))


def tiny_unet(**overrides) -> tuple[nn.Module, dict]:
    args = {"num_downs": 3, "ngf": 8, **overrides}
    torch.manual_seed(0)
    return get_registry().get("generators", "unet").resolve()(**args), args


def one_line_error(error: type[I2IError], call, *words: str) -> str:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("name", ["unet", "test-pointwise"])
def test_round_trip_gives_identical_outputs(tmp_path, test_generators, name):
    generator, args = tiny_unet() if name == "unet" else (PointwiseGenerator(), {})
    save(tmp_path / "m", generator, name, args, task="demo", epochs=3)
    loaded, config = load_generator(tmp_path / "m")
    assert type(loaded) is type(generator)
    assert config["generator"] == {"name": name, "args": args}
    assert config["provenance"]["epochs"] == 3 and config["provenance"]["i2i_version"]
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = set_inference_mode(generator, "eval")(x)
        assert torch.equal(set_inference_mode(loaded, "eval")(x), expected)


def test_weights_are_safetensors_and_config_is_plain_json(tmp_path, test_generators):
    save(tmp_path / "m", PointwiseGenerator(), "test-pointwise", {})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "m" / "config.json").read_text())["format"] == "i2i-model"
    from safetensors.torch import load_file

    assert set(load_file(tmp_path / "m" / "model.safetensors")) == {"conv.weight", "conv.bias"}


def test_run_dir_resolves_to_its_model(tmp_path, test_generators):
    save(tmp_path / "run" / "model", PointwiseGenerator(), "test-pointwise", {})
    (tmp_path / "run" / "config.json").write_text("{}")  # the run's own training config
    assert load_config(tmp_path / "run")["generator"]["name"] == "test-pointwise"
    assert isinstance(load_generator(tmp_path / "run")[0], PointwiseGenerator)


def test_neither_model_nor_run_dir(tmp_path):
    one_line_error(DataError, lambda: load_config(tmp_path), "neither an i2i model dir", "nor a run dir")
    one_line_error(DataError, lambda: load_config(tmp_path / "absent"), "does not exist")


def test_missing_and_unexpected_weights(tmp_path, test_generators):
    state = PointwiseGenerator().state_dict()
    config = config_for("test-pointwise", {})
    save_model_dir(tmp_path / "missing", {"conv.weight": state["conv.weight"]}, config)
    one_line_error(DataError, lambda: load_generator(tmp_path / "missing"), "missing keys: 1 (conv.bias)")
    save_model_dir(tmp_path / "extra", {**state, "head.weight": torch.zeros(1)}, config)
    one_line_error(DataError, lambda: load_generator(tmp_path / "extra"), "unexpected keys: 1 (head.weight)")
    save_model_dir(tmp_path / "shape", {**state, "conv.bias": torch.zeros(5)}, config)
    one_line_error(DataError, lambda: load_generator(tmp_path / "shape"), "wrong-shape keys: 1 (conv.bias (5,) (expected (3,)))")


def test_corrupt_weights(tmp_path, test_generators):
    save(tmp_path / "m", PointwiseGenerator(), "test-pointwise", {})
    (tmp_path / "m" / "model.safetensors").write_bytes(b"not safetensors")
    one_line_error(DataError, lambda: load_generator(tmp_path / "m"), "cannot read", "model.safetensors")


def test_unknown_generator_name(tmp_path):
    config = config_for("unet", {})
    config["generator"]["name"] = "no-such-net"
    save_model_dir(tmp_path / "m", {}, config)
    one_line_error(UnknownComponentError, lambda: load_generator(tmp_path / "m"),
                   "no installed plugin registers generator 'no-such-net'", "i2i list generators")


def test_generator_arguments_and_channels_must_fit(tmp_path, test_generators):
    save_model_dir(tmp_path / "args", {}, config_for("test-pointwise", {"depth": 3}))
    one_line_error(ConfigError, lambda: load_generator(tmp_path / "args"), "rejects the arguments", "depth")



def test_channel_counts_come_from_the_config(tmp_path, test_generators):
    generator = PointwiseGenerator(in_channels=1, out_channels=3)
    save_model_dir(tmp_path / "grey", generator.state_dict(), config_for("test-pointwise", {}, (1, 3)))
    loaded, _ = load_generator(tmp_path / "grey")
    assert (loaded.in_channels, loaded.out_channels) == (1, 3)
    x = torch.rand(1, 1, 8, 8)
    assert torch.equal(loaded(x), generator(x))


def write_config(tmp_path, change) -> object:
    config = config_for("unet", {})
    change(config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    return lambda: load_config(tmp_path)


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(in_channels="3"), ["'in_channels' must be int", "'3'"]),
    (lambda c: c.update(task=5), ["'task' must be string or null"]),
    (lambda c: c["train_size"].update(crop_size=True), ["'train_size.crop_size' must be int"]),
    (lambda c: c["generator"].update(args=[]), ["'generator.args' must be object"]),
    (lambda c: c.update(direction="sideways"), ["'direction'", "'AtoB' or 'BtoA'"]),
    (lambda c: c.update(colour="blue"), ["unknown key 'colour'"]),
    (lambda c: c["provenance"].update(commit="abc"), ["unknown key 'provenance.commit'"]),
    (lambda c: c.pop("out_channels"), ["missing key 'out_channels'"]),
    (lambda c: c.update(format="other"), ["is not an i2i model config"]),
])
def test_bad_config_is_one_clear_line(tmp_path, change, words):
    one_line_error(ConfigError, write_config(tmp_path, change), "config.json", *words)


def test_newer_format_version(tmp_path):
    one_line_error(ConfigError, write_config(tmp_path, lambda c: c.update(format_version=2, novelty=1)),
                   "format version 2", "upgrade i2i")


def test_invalid_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    one_line_error(ConfigError, lambda: load_config(tmp_path), "cannot read", "config.json")


def test_save_validates_the_config(tmp_path):
    config = config_for("unet", {})
    config["inference_mode"] = "train"
    one_line_error(ConfigError, lambda: save_model_dir(tmp_path / "m", {}, config), "'inference_mode'")
    assert not (tmp_path / "m" / "config.json").exists()


def test_crash_while_writing_keeps_the_old_weights(tmp_path, test_generators, monkeypatch):
    save(tmp_path / "m", PointwiseGenerator(), "test-pointwise", {})
    before = (tmp_path / "m" / "model.safetensors").read_bytes()

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["safetensors.torch"], "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path / "m", PointwiseGenerator(), "test-pointwise", {})
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]


@pytest.mark.parametrize("args, channels, fragment", [
    ({"ngf": -1}, (3, 3), "ngf=-1 is out of range; expected a whole number from 1 to 256"),
    ({"ngf": 100000}, (3, 3), "ngf=100000 is out of range"),
    ({"ngf": 8.5}, (3, 3), "ngf=8.5 is not a whole number; expected a whole number from 1 to 256"),
    ({"ngf": True}, (3, 3), "ngf=True is not a whole number"),
    ({"ngf": "abc"}, (3, 3), "ngf='abc' is not a whole number"),
    ({"dropout": "x"}, (3, 3), "dropout='x' is not a number; expected a number from 0.0 to 1.0"),
    ({"dropout": 5.0}, (3, 3), "dropout=5.0 is out of range; expected a number from 0.0 to 1.0"),
    ({}, (-3, 3), "in_channels=-3 is out of range"),
])
def test_generator_arguments_are_checked_against_declared_ranges_before_building(tmp_path, args, channels,
                                                                                    fragment):
    save_model_dir(tmp_path / "m", {}, config_for("unet", {"num_downs": 3, "ngf": 8, **args}, channels))
    line = one_line_error(ConfigError, lambda: load_generator(tmp_path / "m"), fragment)
    assert "config.json" in line


def test_weights_that_do_not_fit_are_refused_from_the_header_before_building(tmp_path, monkeypatch):
    generator, args = tiny_unet()
    save(tmp_path / "m", generator, "unet", args)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["generator"]["args"]["ngf"] = 256  # the weights say 8: a wide network must not be allocated
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    built = []
    real = torch.nn.Conv2d.__init__
    monkeypatch.setattr(torch.nn.Conv2d, "__init__", lambda self, *a, **k: built.append(
        torch.empty(0).device.type) or real(self, *a, **k))
    one_line_error(DataError, lambda: load_generator(tmp_path / "m"), "does not fit generator 'unet'",
                   "wrong-shape keys")
    assert set(built) == {"meta"}


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_or_infinite_weights_are_refused_naming_the_tensor(tmp_path, value):
    generator, args = tiny_unet()
    state = generator.state_dict()
    state["decoder.0.conv.weight"][0, 0, 0, 0] = value
    save_model_dir(tmp_path / "m", state, config_for("unet", args))
    one_line_error(DataError, lambda: load_generator(tmp_path / "m"), "decoder.0.conv.weight",
                   "NaN or infinite", "model.safetensors")


def test_a_deeply_nested_config_is_one_line(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    one_line_error(ConfigError, lambda: load_generator(tmp_path / "m"), "nested too deeply")
