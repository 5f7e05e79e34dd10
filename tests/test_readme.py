"""The README's main command and its Python example train the offline demo task (here with a smaller network,
fewer epochs and a small copy of the demo data: generating the full set is tested in test_acquire/test_demo_task)."""

from __future__ import annotations

import re
import shlex

import json
from pathlib import Path

from PIL import Image

from conftest import ROOT, run_i2i
from i2i.core.plugin_manager import get_registry
from i2i.data.location import cached_root, publish, staging_dir
from i2i.training.presets import PRESETS
from i2i_tasks.demo_data import synthesize


def readme_main_command() -> list[str]:
    """The i2i arguments of the README's first code block (set-up && ... && .venv/bin/i2i ARGS)."""
    block = re.search(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    command = block.split("&&")[-1].strip()
    assert command.startswith(".venv/bin/i2i "), command
    return shlex.split(command)[1:]


def small_demo_cache(tmp_path: Path, monkeypatch) -> Path:
    """A 4/1/1-pair copy of the demo data at 36 px as the demo task's cache under ``tmp_path/home``."""
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    cache = cached_root(get_registry().resolve("tasks", "demo"))
    building = staging_dir(cache)
    for split, count in (("train", 4), ("val", 1), ("test", 1)):
        synthesize(building, split, count, size=36)
    return publish(building, cache, {"source": "generated", "location": "a small copy for this test"})


def test_readme_main_command_trains_the_demo_offline(tmp_path, monkeypatch):
    args = readme_main_command()
    assert args[0] == "train" and "--task" not in args and "--data" not in args  # the demo by default
    assert "--precision" not in args  # the hardware decides
    small_demo_cache(tmp_path, monkeypatch)
    shrink = ["--epochs", "1", "--epochs-decay", "0", "--crop-size", "32", "--load-size", "36",
              "--gen-arg", "ngf=8", "--disc-arg", "ndf=8", "--quiet"]
    result = run_i2i(*args, *shrink, cwd=tmp_path, env={"I2I_HOME": str(tmp_path / "home"),
                                                         "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").glob("demo-*"))
    assert len(runs) == 1
    assert (runs[0] / "model" / "model.safetensors").is_file()
    assert (runs[0] / "samples" / "epoch_0001.png").is_file()


def readme_python_example() -> str:
    """The README's Python block that trains."""
    blocks = re.findall(r"```python\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return next(block for block in blocks if "i2i.train(" in block)


def test_readme_python_example_trains_resumes_evaluates_and_translates(tmp_path, monkeypatch, capsys):
    cache = small_demo_cache(tmp_path, monkeypatch)
    monkeypatch.setitem(PRESETS, "small", {"load_size": 36, "crop_size": 32, "batch_size": 2, "epochs": 1,
                                           "epochs_decay": 1, "generator_args": {"ngf": 8},
                                           "discriminator_args": {"ndf": 8}})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "labels.png").write_bytes(next((cache / "test").glob("*.png")).read_bytes())
    namespace: dict = {}
    exec(readme_python_example(), namespace)
    run = namespace["run"]
    config = json.loads((run / "config.json").read_text())
    assert (config["task"], config["epochs"], config["crop_size"]) == ("demo", 4, 32)  # resumed with epochs=4
    assert json.loads((run / "model" / "config.json").read_text())["provenance"]["epochs"] == 5
    assert namespace["report"].out == run / "eval-test" and (run / "eval-test" / "metrics.json").is_file()
    assert str(namespace["report"].metrics) in capsys.readouterr().out
    assert (tmp_path / "outputs" / "labels.png").is_file()
    assert namespace["image"].size == Image.open(tmp_path / "labels.png").size
