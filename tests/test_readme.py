"""The README's main command trains the offline demo task (here with a smaller network, one epoch and a
small copy of the demo data: generating the full set is tested in test_acquire/test_demo_task)."""

from __future__ import annotations

import re
import shlex

from conftest import ROOT, run_i2i
from i2i.plugins import get_registry
from i2i.task_data import cached_root, publish, staging_dir
from i2i_tasks.demo_data import synthesize


def readme_main_command() -> list[str]:
    """The i2i arguments of the README's first code block (set-up && ... && .venv/bin/i2i ARGS)."""
    block = re.search(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    command = block.split("&&")[-1].strip()
    assert command.startswith(".venv/bin/i2i "), command
    return shlex.split(command)[1:]


def test_readme_main_command_trains_the_demo_offline(tmp_path, monkeypatch):
    args = readme_main_command()
    assert args[0] == "train" and "--task" not in args and "--data" not in args  # the demo by default
    assert "--precision" not in args  # the hardware decides
    monkeypatch.setenv("I2I_HOME", str(tmp_path / "home"))
    cache = cached_root(get_registry().resolve("tasks", "demo"))
    building = staging_dir(cache)
    for split, count in (("train", 4), ("val", 1), ("test", 1)):
        synthesize(building, split, count, size=36)
    publish(building, cache, {"source": "generated", "location": "a small copy for this test"})
    shrink = ["--epochs", "1", "--epochs-decay", "0", "--crop-size", "32", "--load-size", "36",
              "--gen-arg", "ngf=8", "--disc-arg", "ndf=8", "--quiet"]
    result = run_i2i(*args, *shrink, cwd=tmp_path, env={"I2I_HOME": str(tmp_path / "home"),
                                                         "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").glob("demo-*"))
    assert len(runs) == 1
    assert (runs[0] / "model" / "model.safetensors").is_file()
    assert (runs[0] / "samples" / "epoch_0001.png").is_file()
