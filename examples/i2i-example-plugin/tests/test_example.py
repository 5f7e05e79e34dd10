"""The example plugin's own tests: run them with the plugin installed (``pip install -e ".[test]"; pytest``).

They go through the installed entry point and the ``i2i`` command, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file
from torchvision.io import write_png

from i2i.api import GeneratorProtocol, PairMaker, Task
from i2i_example import deblur, register_tasks
from i2i_example.tinyres import TinyResGenerator


def i2i(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "i2i", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_the_entry_point_registers_the_generator_and_the_task():
    plugins = {plugin["name"]: plugin for plugin in json.loads(i2i("plugins", "--json").stdout)}
    assert plugins["example"]["distribution"] == "i2i-example-plugin"
    assert plugins["example"]["registers"] == {"generators": ["tinyres"], "tasks": ["deblur"]}
    (task,) = json.loads(i2i("info", "blur2sharp", "--json").stdout)  # the alias finds the task
    assert task["name"] == "deblur" and task["layout"] == "photos" and task["generator"] == "tinyres"


def test_the_generator_meets_the_contract_and_round_trips(tmp_path):
    torch.manual_seed(0)
    net = TinyResGenerator(width=4, blocks=1).eval()
    assert isinstance(net, GeneratorProtocol)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    save_file(net.state_dict(), tmp_path / "model.safetensors")
    again = TinyResGenerator(width=4, blocks=1).eval()
    again.load_state_dict(load_file(tmp_path / "model.safetensors"))
    out = again(x)
    assert out.shape == x.shape and out.abs().max() <= 1 and torch.equal(out, net(x))


def test_the_pair_maker_blurs_reproducibly():
    assert isinstance(deblur.blur_pair, PairMaker)
    photo = torch.randint(0, 256, (3, 24, 24), dtype=torch.uint8)
    blurred, sharp = deblur.blur_pair(photo, torch.Generator().manual_seed(1))
    again, _ = deblur.blur_pair(photo, torch.Generator().manual_seed(1))
    assert blurred.shape == sharp.shape == (3, 24, 24) and torch.equal(blurred, again)
    assert sharp.min() >= -1 and sharp.max() <= 1 and blurred.std() < sharp.std()


def test_the_task_declares_what_training_needs():
    tasks = {}
    register_tasks(lambda name, target, **options: tasks.update({name: (target, options)}))
    task, options = tasks["deblur"]
    assert isinstance(task, Task) and options["aliases"] == ("blur2sharp",)
    assert task.recipe.crop_size % TinyResGenerator.size_multiple == 0


def test_trains_on_a_flat_folder_of_photos(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    generator = torch.Generator().manual_seed(0)
    for index in range(12):  # no train/ val/ test/ folders: the files are split by name hash
        write_png(torch.randint(0, 256, (3, 40, 40), dtype=torch.uint8, generator=generator),
                  str(photos / f"photo_{index:02d}.png"))
    run = tmp_path / "run"
    i2i("train", "--task", "deblur", "--data", str(photos), "--epochs", "1", "--epochs-decay", "0",
        "--crop-size", "32", "--load-size", "36", "--gen-arg", "width=4", "--gen-arg", "blocks=1",
        "--disc-arg", "ndf=8", "--quiet", "--out", str(run))
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["generator"] == {"name": "tinyres", "args": {"width": 4, "blocks": 1}} and config["task"] == "deblur"
    assert config["provenance"]["plugins"]["i2i-example-plugin"] == "0.1.0"
