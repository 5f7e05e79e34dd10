"""The use-case layer (i2i.usecases, i2i.train/...): resolved configs, the registry and datasets passed in,
one evaluate behind `i2i eval` and `i2i test`, and `i2i ablate` as a plugin command."""

import copy
import json

import pytest
import torch
from click.testing import CliRunner

import i2i
from i2i import usecases
from i2i.cli import cli
from i2i.core.errors import ConfigError
from i2i.core.plugin_manager import get_plugins, get_registry
from i2i.training.config import TrainConfig
from i2i_tasks.demo_data import synthesize

TINY = dict(crop_size=32, load_size=36, epochs=1, epochs_decay=0, log_every=1, generator_args={"ngf": 8},
            discriminator_args={"ndf": 8})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for split, count in (("train", 4), ("val", 1), ("test", 2)):
        synthesize(root, split, count, 36)
    return root


class RecordingRegistry:
    """The plugins' registry, noting each component it resolves."""

    def __init__(self):
        self.inner, self.resolved = get_registry(), set()

    def resolve(self, kind, name):
        self.resolved.add((kind, name))
        return self.inner.resolve(kind, name)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """A run trained through the Python API from a config that names no U-Net depth, on 2 of the 4 pairs."""
    config = TrainConfig.from_task(get_registry().resolve("tasks", "demo"), data=str(data), **copy.deepcopy(TINY))
    before = copy.deepcopy(config)
    registry = RecordingRegistry()
    train_set, val_set = usecases.train_data(config, registry)
    train_set.items = train_set.items[:2]
    run = i2i.train(config, tmp_path_factory.mktemp("runs") / "run", device="cpu", quiet=True, registry=registry,
                    datasets=(train_set, val_set))
    return run, config, before, registry


def test_training_leaves_the_callers_config_alone_and_records_the_resolved_one(trained):
    run, config, before, _ = trained
    assert config == before and "num_downs" not in config.generator_args
    recorded = json.loads((run / "config.json").read_text())
    assert recorded["generator_args"] == {"ngf": 8, "num_downs": 5}  # the U-Net's depth for 32-px crops
    assert recorded["runtime"]["device"] == "cpu"


def test_training_uses_the_registry_and_the_datasets_it_is_given(trained):
    run, _, _, registry = trained
    assert {("tasks", "demo"), ("generators", "unet"), ("discriminators", "patch70")} <= registry.resolved
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 2  # the 2 pairs passed in, batch size 1, one epoch: not the folder's 4


def test_fields_go_with_a_task_name_not_with_a_config(trained):
    _, config, _, _ = trained
    with pytest.raises(ConfigError, match="with a task name"):
        i2i.train(config, epochs=3)
    with pytest.raises(ConfigError, match="unknown training config fields: epoch$"):
        i2i.new_config("demo", epoch=3)


def test_resume_extends_the_schedule(trained):
    run = trained[0]
    assert i2i.resume(run, epochs=2, device="cpu", quiet=True) == run
    assert json.loads((run / "model" / "config.json").read_text())["provenance"]["epochs"] == 2
    with pytest.raises(ConfigError, match="has trained all 2 epochs"):
        i2i.resume(run, device="cpu", quiet=True)


def test_eval_and_test_are_one_evaluation_with_their_own_defaults(trained):
    run = trained[0]
    report = i2i.evaluate(run, metrics=["l1"], device="cpu", quiet=True)
    assert report.out == run / "eval-test" and set(report.metrics) == {"l1"} and report.record["count"] == 2
    tested = CliRunner().invoke(cli, ["test", str(run), "--metrics", "l1", "--device", "cpu", "-q"])
    assert tested.exit_code == 0, tested.output
    assert json.loads((run / "test-test" / "metrics.json").read_text())["metrics"] == report.metrics


def test_translate_writes_one_output_per_input_and_takes_a_loaded_model(trained, data, tmp_path):
    run = trained[0]
    inputs = sorted((data / "test").glob("*.png"))
    result = i2i.translate(run, inputs, tmp_path / "a", device="cpu", quiet=True)
    assert result.outputs == [tmp_path / "a" / f"{path.stem}.png" for path in inputs] and not result.skipped
    again = i2i.translate(i2i.load(run, device="cpu"), [data / "test"], tmp_path / "b", quiet=True)
    assert [path.name for path in again.outputs] == [path.name for path in result.outputs]


class NeedsLargeCrops(torch.nn.Module):
    """A discriminator whose 64-px kernel cannot judge smaller crops."""

    receptive_field = 64

    def __init__(self, in_channels, out_channels, conditional, ndf=8):
        super().__init__()
        self.conditional = conditional
        self.conv = torch.nn.Conv2d(in_channels + out_channels if conditional else out_channels, 1, 64)

    def forward(self, x):
        return self.conv(x)


def test_why_untrainable_tries_the_networks_at_the_crop_size_without_training():
    registry = RecordingRegistry()
    registry.resolve = lambda kind, name: NeedsLargeCrops if name == "large" else registry.inner.resolve(kind, name)
    config = usecases.new_config("demo", **copy.deepcopy(TINY))
    assert usecases.why_untrainable(config, registry) is None
    config.discriminator = "large"
    assert "large cannot judge 32-px crops at batch size 1" in usecases.why_untrainable(config, registry)
    config.loss = "l1"  # no discriminator to judge
    assert usecases.why_untrainable(config, registry) is None
    config.discriminator_args, config.loss = {"no_such_arg": 1}, "l1+cgan"
    with pytest.raises(ConfigError, match="no_such_arg"):  # a wrong argument stays the user's mistake
        usecases.why_untrainable(config, registry)


def test_ablate_is_a_plugin_command_registered_through_its_entry_point():
    import importlib.util

    assert importlib.util.find_spec("i2i.training.ablation") is None and importlib.util.find_spec("i2i.cli.ablate") is None
    info = get_plugins().plugins["ablation"]
    assert (info.module, info.source.distribution, info.hooks) == ("i2i_plugins.ablation_command", "i2i-pix2pix",
                                                                   ["register_commands"])
    command = cli.get_command(None, "ablate")
    assert command.callback.__module__ == "i2i_plugins.ablation_command"
