"""Plugin discovery through real entry points, the registry's answers, and the catalog CLI."""

from __future__ import annotations

import inspect
import json
import re
import types
from importlib.metadata import entry_points

import pytest

from conftest import ROOT, make_distribution, run_i2i, run_python
from i2i import hookimpl
from i2i.core import hookspecs
from i2i.core import plugin_manager as plugins_module
from i2i.core.errors import PluginLoadError, RegistryConflictError, UnknownComponentError
from i2i.core.plugin_manager import PluginSet, Selection
from i2i.core.registry import Registry, Source

HERE = Source("tests", "test-dist", "1.0")
OTHER = Source("other", "other-dist", "2.0")

GEN_PLUGIN = """
from i2i import hookimpl

@hookimpl
def register_generators(register):
    register("unet", "collections:OrderedDict", description="a clash")
"""


# --- registry -------------------------------------------------------------------------------------

def test_registry_get_alias_wildcard_and_lazy_resolution():
    registry = Registry()
    registry.add("generators", "alpha", "collections:OrderedDict", source=HERE, aliases=("first",))
    registry.add("generators", "beta", dict, source=HERE)
    assert registry.get("generator", "first").name == "alpha"
    entry = registry.get("generators", "alpha")
    assert entry._resolved is None  # nothing imported until first use
    import collections

    assert entry.resolve() is collections.OrderedDict
    assert [e.name for e in registry.list("generators", "b*")] == ["beta"]
    assert [e.name for e in registry.list(pattern="fir?t")] == ["alpha"]  # aliases match too
    assert [e.name for e in registry.list(pattern="ETA")] == ["beta"]  # no wildcard: a substring, any case
    assert [e.name for e in registry.list(pattern="a")] == ["alpha", "beta"]
    assert registry.list(pattern="a*") == [entry]  # a glob matches the whole name
    assert entry.source == HERE


def test_unknown_name_suggests_close_names_and_the_listing_command():
    registry = Registry()
    registry.add("generators", "unet", dict, source=HERE)
    with pytest.raises(UnknownComponentError) as err:
        registry.get("generators", "unnet")
    assert "did you mean 'unet'" in str(err.value) and "i2i list generators" in str(err.value)


def test_same_name_from_two_plugins_conflicts_unless_overridden():
    registry = Registry()
    registry.add("tasks", "maps", dict, source=HERE)
    with pytest.raises(RegistryConflictError) as err:
        registry.add("tasks", "maps", list, source=OTHER)
    assert "test-dist" in str(err.value) and "other-dist" in str(err.value)
    registry.add("tasks", "maps", list, source=OTHER, override=True)
    assert registry.resolve("tasks", "maps") is list
    with pytest.raises(RegistryConflictError):  # an alias clashes too
        registry.add("tasks", "other", dict, source=HERE, aliases=("maps",))


def test_a_task_takes_its_registration_key_as_its_name_also_when_lazy():
    registry = Registry()
    registry.add("tasks", "my-pairs", "i2i_tasks.paired:PAIRED", source=HERE, aliases=("mp",))
    task = registry.resolve("tasks", "mp")
    assert task.name == "my-pairs" and task.layout == "auto"
    assert registry.resolve("tasks", "my-pairs") is task


# --- plugin set (in process) ----------------------------------------------------------------------

def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_failing_hook_warns_once_and_leaves_nothing_half_registered(capsys):
    def broken(register):
        register("half", dict)
        raise RuntimeError("boom")

    plugins = PluginSet(strict=False)
    plugins.add(_plugin(register_generators=broken), Source("broken", "broken-dist", "0.1"))
    plugins.add(_plugin(register_tasks=lambda register: register("fine", dict)), HERE)
    assert plugins.registry.names("generators") == []
    assert plugins.registry.names("tasks") == ["fine"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'broken'" in err[0] and "boom" in err[0]


def test_strict_mode_raises_and_checks_pending_hooks(monkeypatch):
    def broken(register):
        raise RuntimeError("boom")

    with pytest.raises(PluginLoadError, match="boom"):
        PluginSet(strict=True).add(_plugin(register_generators=broken), HERE)

    misspelled = _plugin(register_generator=lambda register: None)
    monkeypatch.setenv("I2I_PLUGINS", "")  # no entry points, only our in-process plugin
    plugins = PluginSet(strict=True)
    plugins.add(misspelled, HERE)
    with pytest.raises(PluginLoadError, match="register_generator"):
        plugins.load_entry_points()


# --- real entry points (subprocess) ---------------------------------------------------------------

def test_builtins_are_listed_by_distribution():
    result = run_i2i("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["generators"]["distribution"] == "i2i-pix2pix"
    assert set(plugins["generators"]["registers"]["generators"]) >= {"unet", "encdec"}
    assert set(plugins["discriminators"]["registers"]["discriminators"]) >= {"pixel", "patch16", "patch70", "image286"}
    assert set(plugins["objectives"]["registers"]["losses"]) >= {"l1", "gan", "cgan"}
    assert plugins["ablation"]["registers"] == {"commands": ["ablate"]}  # a plugin that only adds commands


def test_broken_plugin_gives_one_warning_and_list_still_works(site):
    make_distribution(site, "broken-plugin", "0.1", {"broken": "broken_mod"},
                      {"broken_mod": "raise ImportError('missing dependency xyz')"})
    result = run_i2i("list", "generators", paths=[site])
    assert result.returncode == 0, result.stderr
    assert "unet" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "broken" in warnings[0] and "missing dependency xyz" in warnings[0]


def test_two_distributions_registering_one_name_is_a_clear_error(site):
    make_distribution(site, "clash-plugin", "3.1", {"clash": "clash_mod"}, {"clash_mod": GEN_PLUGIN})
    result = run_i2i("list", paths=[site])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'unet'" in lines[0]
    assert "i2i-pix2pix" in lines[0] and "clash-plugin 3.1" in lines[0]


def test_env_var_selects_third_party_plugins_and_keeps_the_builtins(site):
    make_distribution(site, "clash-plugin", "3.1", {"clash": "clash_mod"}, {"clash_mod": GEN_PLUGIN})
    make_distribution(site, "mine-plugin", "1.0", {"mine": "mine_mod"}, {"mine_mod": "x = 1"})
    builtins = {ep.name for ep in entry_points(group="i2i") if ep.dist.name == "i2i-pix2pix"}
    result = run_i2i("plugins", "--json", paths=[site], env={"I2I_PLUGINS": "mine"})
    assert result.returncode == 0, result.stderr
    assert {p["name"] for p in json.loads(result.stdout)} == builtins | {"mine"}  # no clash, the built-ins kept


@pytest.mark.parametrize(("value", "loaded"), [
    (None, {"unet-builtin", "maps-builtin", "mine", "clash"}),
    ("mine", {"unet-builtin", "maps-builtin", "mine"}),
    ("mine-plugin", {"unet-builtin", "maps-builtin", "mine"}),  # a distribution name
    ("", {"unet-builtin", "maps-builtin"}),
    ("-clash", {"unet-builtin", "maps-builtin", "mine"}),  # only exclusions: all but those
    ("mine,-maps-builtin", {"unet-builtin", "mine"}),
    ("mine,-i2i-pix2pix", {"mine"}),
    ("m*, -I2I_Pix2Pix", {"mine"}),  # patterns; distribution names compare as packaging does
    ("-*", set()),
])
def test_env_var_syntax(value, loaded):
    sources = [Source("unet-builtin", "i2i-pix2pix", "0.1"), Source("maps-builtin", "i2i-pix2pix", "0.1"),
               Source("mine", "mine-plugin", "1.0"), Source("clash", "clash-plugin", "3.1")]
    selection = Selection.parse(value)
    assert {source.plugin for source in sources if selection.loads(source)} == loaded


def test_a_selection_that_matches_no_plugin_is_named_in_a_warning(monkeypatch, capsys):
    """A typo in I2I_PLUGINS (``mien`` for ``mine``) would otherwise load the built-ins alone without a word."""
    sources = [Source("mine", "mine-plugin", "1.0"), Source("unet-builtin", "i2i-pix2pix", "0.1")]
    assert Selection.parse("mien,-nope,-unet-*").unmatched(sources) == ["mien", "nope"]
    assert Selection.parse(None).unmatched(sources) == []
    monkeypatch.setenv("I2I_PLUGINS", "mien")
    plugins = PluginSet(strict=False).load_entry_points()
    assert any("I2I_PLUGINS names 'mien', which matches no installed plugin" in w for w in plugins.warnings)
    assert "'mien'" in capsys.readouterr().err
    assert "generators" in plugins.plugins  # the built-ins still load


def test_plugin_selection_is_documented_where_users_look():
    for text in ((ROOT / "CONTRIBUTING.md").read_text(), (ROOT / "README.md").read_text(), plugins_module.__doc__):
        assert "I2I_PLUGINS" in text and "mine,-i2i-pix2pix" in text


def test_info_unknown_name_is_one_line_with_suggestion():
    result = run_i2i("info", "unnet")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "did you mean" in lines[0] and "unet" in lines[0]


@pytest.mark.parametrize("args", [["-c", "import i2i.cli, sys; print('torch' in sys.modules)"],
                                  ["-c", "import sys; from i2i.cli import cli; "
                                         "cli(['--help'], standalone_mode=False); print('torch' in sys.modules)"],
                                  ["-c", "import sys; from i2i.cli import cli; "
                                         "cli(['list'], standalone_mode=False); "
                                         "cli(['plugins'], standalone_mode=False); print('torch' in sys.modules)"]])
def test_cli_listing_does_not_import_torch(args):
    result = run_python(args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_contributing_documents_every_hook():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]
    assert len(hooks) == 8
    for name in hooks:
        signature = f"{name}{inspect.signature(getattr(hookspecs, name))}"
        assert re.search(re.escape(signature), text), f"CONTRIBUTING.md does not document {signature}"


def test_a_hook_raising_an_i2i_error_is_reported_not_fatal(capsys):
    from i2i.core.errors import ConfigError

    def refuses(register):
        raise ConfigError("needs a setting")

    plugins = PluginSet(strict=False)
    plugins.add(_plugin(register_tasks=refuses), Source("picky", "picky-dist", "1.0"))
    assert plugins.registry.names("tasks") == []
    assert "'picky'" in capsys.readouterr().err


# --- every hook, called as the docs say -----------------------------------------------------------

def _documented(signature: str) -> inspect.Signature:
    namespace: dict = {}
    exec(f"def register{signature}: pass", namespace)
    return inspect.signature(namespace["register"])


def test_the_register_callback_is_the_documented_one():
    documented = f"register{hookspecs.REGISTER_SIGNATURE}"
    callback = PluginSet(strict=True)._register_callback("generators", HERE, [])
    assert inspect.signature(callback) == _documented(hookspecs.REGISTER_SIGNATURE)
    assert documented in (ROOT / "CONTRIBUTING.md").read_text()
    assert documented in hookspecs.__doc__
    for name in ("generators", "discriminators", "losses", "tasks", "metrics", "trackers", "model_sources"):
        assert "register(name, target, ...)" in getattr(hookspecs, f"register_{name}").__doc__, name


class EveryHookPlugin:
    """A plugin object implementing every hook, each ``register`` call spelled out as the docs name it."""

    class Metric:  # meets MetricProtocol + SupportsValues without subclassing i2i's Metric
        higher_is_better = True

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale
            self.reset()

        def reset(self) -> None:
            self.total = 0.0

        def update(self, output, target) -> None:
            self.total += float((output == target).float().mean()) * self.scale

        def compute(self) -> float:
            return self.total

        def values(self) -> dict[str, float]:
            return {"total": self.total, "half": self.total / 2}

    class Tracker:
        def __init__(self, run_dir, config) -> None:
            self.records = []

        def log(self, record) -> None:
            self.records.append(record)

        def log_image(self, tag, path, step) -> None:
            pass

        def close(self) -> None:
            pass

    class Source:
        def __init__(self, folder) -> None:
            self.folder = folder

        def models(self) -> dict[str, str]:
            return {"tiny": "a tiny model"}

        def fetch(self, name: str):
            return self.folder / name

    def __init__(self, folder) -> None:
        self.folder = folder

    @hookimpl
    def register_model_sources(self, register):
        register(name="every-source", target=self.Source(self.folder), aliases=(), description="models",
                 override=False)

    @hookimpl
    def register_generators(self, register):
        register(name="every-gen", target="i2i_plugins.unet:UNetGenerator", aliases=("eg",),
                 description="a generator", override=False)

    @hookimpl
    def register_discriminators(self, register):
        from i2i_plugins.patchgan import PixelDiscriminator

        register(name="every-disc", target=PixelDiscriminator, aliases=(), description="", override=False)

    @hookimpl
    def register_losses(self, register):
        register(name="every-loss", target="i2i_plugins.losses:L1Loss", aliases=("el",), description="L1 again",
                 override=False)

    @hookimpl
    def register_tasks(self, register):
        from i2i.api import Task

        register(name="every-task", target=Task(name="a-different-name", description="d"), aliases=("et",),
                 description="a task", override=False)

    @hookimpl
    def register_metrics(self, register):
        register(name="every-metric", target=self.Metric, aliases=(), description="", override=False)

    @hookimpl
    def register_trackers(self, register):
        register(name="every-tracker", target=self.Tracker, aliases=(), description="a tracker", override=False)

    @hookimpl
    def register_commands(self, cli):
        import click

        @cli.command("every-hello")
        @click.argument("who")
        def hello(who):
            """Greet."""
            click.echo(f"hello {who}")


def test_every_hook_through_a_plugin_object(tmp_path):
    import click
    import torch
    from click.testing import CliRunner

    from i2i import api
    from i2i.eval.metric_set import MetricSet
    from i2i.training.config import TrainConfig

    plugins = PluginSet(strict=True)
    plugins.add(EveryHookPlugin(tmp_path), Source("every", "every-dist", "1.0"))
    registry = plugins.registry
    assert plugins.plugins["every"].registers == {
        "generators": ["every-gen"], "discriminators": ["every-disc"], "losses": ["every-loss"],
        "tasks": ["every-task"], "metrics": ["every-metric"], "trackers": ["every-tracker"],
        "model_sources": ["every-source"]}
    assert len(plugins.plugins["every"].hooks) == 8
    source = registry.resolve("model_sources", "every-source")
    assert isinstance(source, api.ModelSourceProtocol) and source.fetch("tiny") == tmp_path / "tiny"
    generator = registry.resolve("generators", "eg")(in_channels=3, out_channels=3, ngf=4, num_downs=5)
    assert isinstance(generator, api.GeneratorProtocol) and registry.get("generators", "eg").description == "a generator"
    assert isinstance(registry.resolve("discriminators", "every-disc")(ndf=4), api.DiscriminatorProtocol)
    assert isinstance(registry.resolve("losses", "el")(weight=2.0), api.LossTermProtocol)
    assert isinstance(registry.resolve("trackers", "every-tracker")(tmp_path, {}), api.TrackerProtocol)

    metrics = MetricSet.build(registry, ["every-metric"], {"every-metric": {"scale": 2.0}})
    metrics.update(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
    assert metrics.scores() == {"every-metric.total": 2.0, "every-metric.half": 1.0}

    task = registry.resolve("tasks", "et")  # the registration key is the task's name, also through an alias
    assert task.name == "every-task" and registry.get("tasks", "every-task").description == "a task"
    assert registry.resolve("tasks", TrainConfig.from_task(task).task) is task

    group = click.Group()
    plugins.add_commands(group)
    result = CliRunner().invoke(group, ["every-hello", "world"])
    assert result.exit_code == 0 and result.output == "hello world\n"


def test_a_plugin_command_runs_from_the_i2i_cli(site):
    make_distribution(site, "hello-plugin", "0.2", {"hello": "hello_mod"}, {"hello_mod": """
        import click
        from i2i.api import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            @click.option("--name", default="world")
            def hello(name):
                \"\"\"Say hello.\"\"\"
                click.echo(f"hello {name}")
    """})
    result = run_i2i("hello", "--name", "i2i", paths=[site])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello i2i\n"
    assert "Say hello." in run_i2i("--help", paths=[site]).stdout
