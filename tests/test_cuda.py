"""The engine on a CUDA device: training steps in every precision, exact resume, translation.

Skipped without CUDA (CI has none); `bench/gpu_check.sh` runs them on a borrowed GPU.
"""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from i2i.cli import cli
from i2i.core.plugin_manager import get_registry
from i2i.models.translator import Translator
from i2i.training.objective import Objective
from i2i.training.step import PairTrainer
from i2i_tasks.demo_data import synthesize

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def _trainer(precision: str) -> PairTrainer:
    registry = get_registry()
    torch.manual_seed(0)
    generator = registry.resolve("generators", "unet")(num_downs=5, ngf=16)
    discriminator = registry.resolve("discriminators", "patch70")(ndf=16)
    return PairTrainer(generator, discriminator, Objective.build("l1+cgan", registry), lr=2e-4,
                       betas=(0.5, 0.999), device=torch.device("cuda"), precision=precision)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_training_steps_in_every_precision_track_fp32(precision):
    a, b = torch.rand(2, 2, 3, 32, 32).mul(2).sub(1)
    reference, trainer = _trainer("fp32"), _trainer(precision)
    for _ in range(3):
        expected, result = reference.step(a, b).as_floats(), trainer.step(a, b).as_floats()
    assert result.keys() == expected.keys()
    for key in expected:
        assert abs(result[key] - expected[key]) <= 0.1 * abs(expected[key]) + 0.05, (key, result, expected)


def test_exact_resume_and_translation_on_cuda(tmp_path):
    data = tmp_path / "data"
    for split, count in (("train", 4), ("val", 1)):
        synthesize(data, split, count=count, size=36)
    common = ["--data", str(data), "--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8",
              "--disc-arg", "ndf=8", "--device", "cuda", "--quiet", "--epochs-decay", "0"]
    runner = CliRunner()
    assert runner.invoke(cli, ["train", *common, "--epochs", "2", "--out", str(tmp_path / "full")]).exit_code == 0
    assert runner.invoke(cli, ["train", *common, "--epochs", "1", "--out", str(tmp_path / "half")]).exit_code == 0
    resumed = runner.invoke(cli, ["train", "--resume", str(tmp_path / "half"), "--epochs", "2", "--device", "cuda",
                                  "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    full = load_file(str(tmp_path / "full" / "checkpoints" / "latest.safetensors"))
    half = load_file(str(tmp_path / "half" / "checkpoints" / "latest.safetensors"))
    weights = [k for k in full if k.startswith(("generator.", "discriminator."))]
    # cuDNN may pick non-deterministic kernels; weights must still agree closely after a resume.
    assert all(torch.allclose(full[k].float(), half[k].float(), atol=1e-4) for k in weights)

    translator = Translator.load(tmp_path / "full", device="cuda", precision="bf16", seed=0)
    out = translator.translate(torch.rand(3, 50, 70).mul(2).sub(1))
    assert out.shape == (3, 50, 70) and torch.isfinite(out).all()
