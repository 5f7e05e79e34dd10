"""The public plugin API (i2i.api): what it exports, that it stays torch-free, that the built-in components
meet its protocols, and that plugins, tasks and the example import i2i through it alone."""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT, run_python
from i2i import api
from i2i.core.plugin_manager import get_registry

PLUGIN_FOLDERS = ("plugins", "tasks", "examples")


def test_every_exported_name_resolves_once():
    assert len(api.__all__) == len(set(api.__all__))
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError):
        api.no_such_name  # noqa: B018


def test_lazy_names_match_the_type_checking_imports():
    tree = ast.parse((ROOT / "i2i" / "api.py").read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert imported == api._LAZY
    assert set(api._LAZY) <= set(api.__all__)


def test_importing_the_api_and_registering_imports_no_torch():
    code = ("import sys, i2i.api, i2i_plugins.generators, i2i_tasks.paired; "
            "print('torch' in sys.modules)")
    result = run_python(["-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _imports_of_i2i(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] if node.module != "i2i" else [f"i2i.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found.update(m for m in modules if m == "i2i" or m.startswith("i2i."))
    return found


def test_plugins_tasks_and_examples_import_i2i_only_through_the_api():
    stray = {}
    for folder in PLUGIN_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            other = _imports_of_i2i(path) - {"i2i.api"}
            if other:
                stray[str(path.relative_to(ROOT))] = sorted(other)
    assert stray == {}


def _classes(kind: str) -> dict[str, type]:
    registry = get_registry()
    return {name: registry.resolve(kind, name) for name in registry.names(kind)}


def test_builtin_networks_meet_the_protocols():
    import torch

    for name, cls in _classes("generators").items():
        assert isinstance(cls, api.SupportsArgRanges), name
        defaults = cls.default_args(256) if isinstance(cls, api.SupportsDefaultArgs) else {}
        net = cls(in_channels=3, out_channels=3, ngf=4, **defaults)
        assert isinstance(net, api.GeneratorProtocol), name
    unet = get_registry().resolve("generators", "unet")
    assert isinstance(unet, api.SupportsDefaultArgs) and isinstance(unet, api.SupportsInfo)
    assert isinstance(unet, api.SupportsPortStateDict)
    for name, cls in _classes("discriminators").items():
        net = cls(in_channels=3, out_channels=3, conditional=True, ndf=4)
        assert isinstance(net, api.DiscriminatorProtocol), name
        assert net(torch.zeros(1, 6, 32, 32)).dim() == 4


def test_builtin_losses_metrics_and_trackers_meet_the_protocols():
    for name, cls in _classes("losses").items():
        assert isinstance(cls(weight=1.0), api.LossTermProtocol), name
    metrics = _classes("metrics")
    for name, cls in metrics.items():  # some need weights to build: their classes carry the members
        assert isinstance(cls, api.MetricProtocol), name
    assert isinstance(metrics["fcn_score"], api.SeesInput) and isinstance(metrics["fcn_score"], api.SupportsReference)
    assert isinstance(metrics["lab_hist"], api.SupportsDraw) and isinstance(metrics["kid"], api.SupportsValues)
    assert not isinstance(metrics["psnr"], api.SupportsValues)
    for name, cls in _classes("trackers").items():
        assert isinstance(cls, api.TrackerProtocol), name
    for name in get_registry().names("model_sources"):
        assert isinstance(get_registry().resolve("model_sources", name), api.ModelSourceProtocol), name
    for name in get_registry().names("tasks"):
        assert isinstance(get_registry().resolve("tasks", name), api.Task), name
