"""The architecture contracts in pyproject.toml ([tool.importlinter]) hold: layers, and plugins through the API."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c["id"] for c in CONTRACTS])
def test_contract_is_kept(contract):
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                             "--no-cache", "--contract", contract["id"]],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"contract {contract['name']!r} is broken:\n{result.stdout}{result.stderr}", pytrace=False)


def i2i_imports(path: Path) -> list[str]:
    """The i2i modules a file imports (``from i2i import api`` counts as ``i2i.api``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [f"{node.module}.{alias.name}" if node.module == "i2i" else node.module for alias in node.names]
    return [name for name in found if name == "i2i" or name.startswith("i2i.")]


def test_the_examples_import_i2i_only_through_the_api():
    """The contracts above cover the installed i2i_plugins and i2i_tasks; the examples are checked here."""
    files = sorted((ROOT / "examples").rglob("*.py"))
    assert files
    outside = {str(path.relative_to(ROOT)): name for path in files for name in i2i_imports(path)
               if name != "i2i.api" and not name.startswith("i2i.api.")}
    assert not outside, f"import i2i only through i2i.api: {outside}"
