"""The example plugin (examples/i2i-example-plugin), installed from its own pyproject.toml into a temporary
folder, passes its own tests there; and its version pin admits this i2i."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import i2i
from conftest import ROOT, make_distribution, run_python

EXAMPLE = ROOT / "examples" / "i2i-example-plugin"


def install_from_pyproject(project: Path, site: Path) -> list[Path]:
    """What ``pip install -e project`` puts on the path (its dist-info with the entry points its pyproject
    declares, and the project folder), without pip or a network; returns the paths to prepend."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    make_distribution(site, meta["name"], meta["version"], meta["entry-points"]["i2i"])
    return [site, project]


def test_the_example_pins_a_range_that_admits_this_i2i():
    (requirement,) = [Requirement(text) for text in
                      tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["dependencies"]]
    assert requirement.name == "i2i-pix2pix" and str(requirement.specifier)
    assert requirement.specifier.contains(i2i.__version__), (str(requirement), i2i.__version__)
    assert not requirement.specifier.contains("1.0")  # an upper bound: a new major API is not assumed


@pytest.mark.slow
def test_the_example_plugin_passes_its_own_tests(tmp_path):
    paths = install_from_pyproject(EXAMPLE, tmp_path / "site")
    result = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLE)],
                        paths=paths, cwd=EXAMPLE, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_the_task_tutorial_shows_the_tested_example_code():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("### Writing a task", 1)[1].split("\n### ", 1)[0]
    blocks = [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", section, re.S)]
    assert len(blocks) == 2
    for block in blocks:
        first, code = block.split("\n", 1)
        source = (EXAMPLE / first.removeprefix("# ")).read_text()
        assert code in source, f"CONTRIBUTING's {first} differs from the example's"
