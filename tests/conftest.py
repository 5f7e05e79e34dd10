"""Shared fixtures: subprocess runs of the CLI, fake installed distributions, demo data and a fresh I2I_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The tests' networks are tiny: a second intra-op thread adds synchronisation, not speed, and on a busy machine
# its spin-waits burn CPU (measured on 2 loaded cores: 1.5 s against 0.07 s of CPU per demo training step).
# One thread unless OMP_NUM_THREADS says otherwise; CLI subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402  (after OMP_NUM_THREADS, which torch reads once)

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

ROOT = Path(__file__).resolve().parents[1]


def make_distribution(site: Path, name: str, version: str, entry_points: dict[str, str],
                      modules: dict[str, str] | None = None) -> Path:
    """Write ``modules`` and a ``.dist-info`` with an ``i2i`` entry-point group into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[i2i]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


def run_python(args: list[str], *, paths: list[Path] = (), env: dict[str, str] | None = None,
               cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` with ``paths`` prepended to PYTHONPATH; capture text output."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), full_env.get("PYTHONPATH", "")]).strip(os.pathsep)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


def run_i2i(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``i2i`` CLI in a fresh interpreter (real entry-point discovery)."""
    return run_python(["-m", "i2i", *args], **kwargs)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture(scope="module")
def data(request, tmp_path_factory) -> Path:
    """Demo pairs at 32 px for the module: ``TRAIN_PAIRS`` training pairs (a module constant; default 2), one val."""
    from i2i_tasks.demo_data import synthesize

    root = tmp_path_factory.mktemp("data")
    synthesize(root, "train", getattr(request.module, "TRAIN_PAIRS", 2), 32)
    synthesize(root, "val", 1, 32)
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A fresh ``I2I_HOME`` (set in the environment) for the module's tests; its path."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(path))
        yield path


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1000,640")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian chromium driven by selenium, one session per test module; ``browser.downloads`` is its
    download folder. Skips (one reason) without selenium, chromium or chromium-driver."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("browser tests need selenium: pip install -e '.[test]'")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(f"browser tests need {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver")
    folder = tmp_path_factory.mktemp("browser")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(folder / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.downloads = folder / "downloads"
    yield driver
    driver.quit()


def wait_for_state(driver, *states: str, timeout: float = 60) -> str:
    """Wait until the page's ``body[data-state]`` is one of ``states``; return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: d.execute_script("return document.body.dataset.state") in states)
    return driver.execute_script("return document.body.dataset.state")
