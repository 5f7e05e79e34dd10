"""The architecture contracts in pyproject.toml ([tool.importlinter]) hold: layers, and plugins through the API."""

from __future__ import annotations

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
