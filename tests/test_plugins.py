"""Plugin discovery through real entry points, the registry's answers, and the catalog CLI."""

from __future__ import annotations

import inspect
import json
import re
import types

import pytest

from conftest import ROOT, make_distribution, run_i2i, run_python
from i2i import hookimpl, hookspecs
from i2i.errors import PluginLoadError, RegistryConflictError, UnknownComponentError
from i2i.plugins import PluginSet
from i2i.registry import Registry, Source

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


def test_env_var_limits_loading(site):
    make_distribution(site, "clash-plugin", "3.1", {"clash": "clash_mod"}, {"clash_mod": GEN_PLUGIN})
    result = run_i2i("plugins", "--json", paths=[site], env={"I2I_PLUGINS": "generators,objectives"})
    assert result.returncode == 0, result.stderr
    assert sorted(p["name"] for p in json.loads(result.stdout)) == ["generators", "objectives"]
    none = run_i2i("plugins", "--json", env={"I2I_PLUGINS": ""})
    assert json.loads(none.stdout) == []


def test_example_plugin_is_discovered_through_its_entry_point(site):
    example = ROOT / "examples" / "i2i-example-plugin"
    make_distribution(site, "i2i-example-plugin", "0.1.0", {"example": "i2i_example"})
    plugins = json.loads(run_i2i("plugins", "--json", paths=[site, example]).stdout)
    mine = next(p for p in plugins if p["name"] == "example")
    assert mine["distribution"] == "i2i-example-plugin"
    assert mine["registers"] == {"generators": ["tinyres"], "tasks": ["deblur"]}
    listed = run_i2i("list", "--json", paths=[site, example])
    names = {(e["kind"], e["name"]) for e in json.loads(listed.stdout)}
    assert {("generator", "tinyres"), ("task", "deblur")} <= names
    code = ("from i2i.plugins import get_registry; r = get_registry(); "
            "G = r.resolve('generators', 'tinyres'); import torch; "
            "print(G()(torch.zeros(1, 3, 8, 8)).shape, r.get('tasks', 'blur2sharp').resolve().pair_maker)")
    resolved = run_python(["-c", code], paths=[site, example])
    assert resolved.returncode == 0, resolved.stderr
    assert "torch.Size([1, 3, 8, 8]) i2i_example.deblur:blur_pair" in resolved.stdout


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
    from i2i.errors import ConfigError

    def refuses(register):
        raise ConfigError("needs a setting")

    plugins = PluginSet(strict=False)
    plugins.add(_plugin(register_tasks=refuses), Source("picky", "picky-dist", "1.0"))
    assert plugins.registry.names("tasks") == []
    assert "'picky'" in capsys.readouterr().err
