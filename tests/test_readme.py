"""The README's main command trains the offline demo task (here with a smaller network and one epoch)."""

from __future__ import annotations

import re
import shlex

from conftest import ROOT, run_i2i


def readme_main_command() -> list[str]:
    """The i2i arguments of the README's first code block (set-up && ... && .venv/bin/i2i ARGS)."""
    block = re.search(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    command = block.split("&&")[-1].strip()
    assert command.startswith(".venv/bin/i2i "), command
    return shlex.split(command)[1:]


def test_readme_main_command_trains_the_demo_offline(tmp_path):
    args = readme_main_command()
    assert args[0] == "train" and "--task" not in args and "--data" not in args  # the demo by default
    shrink = ["--epochs", "1", "--epochs-decay", "0", "--crop-size", "32", "--load-size", "36",
              "--gen-arg", "ngf=8", "--disc-arg", "ndf=8", "--quiet"]
    result = run_i2i(*args, *shrink, cwd=tmp_path, env={"I2I_HOME": str(tmp_path / "home"),
                                                         "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").glob("demo-*"))
    assert len(runs) == 1
    assert (runs[0] / "model" / "model.safetensors").is_file()
    assert (runs[0] / "samples" / "epoch_0001.png").is_file()
