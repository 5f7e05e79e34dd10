"""Distributed training on the CPU with gloo, 2 processes and tiny networks: equivalence with one process,
a killed or hung rank, a Ctrl-C on one rank and its resume, and torchrun training the demo task."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

from i2i.cli import cli
from i2i.cli.train import _command_line, train_command
from i2i.core.errors import ConfigError
from i2i.data.sampling import EpochBatchSampler
from i2i.training.checkpoint import read_checkpoint_meta
from i2i.training.config import TrainConfig

TRAIN_PAIRS = 4  # for the shared ``data`` fixture
TINY = ["--task", "demo", "--crop-size", "32", "--load-size", "36", "--gen-arg", "ngf=8", "--disc-arg", "ndf=8",
        "--device", "cpu", "--log-every", "1", "--quiet", "--epochs", "1", "--epochs-decay", "1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step_hook(at_step: int, rank: int, action: str) -> str:
    """Python run before the CLI in each worker: ``action`` inside training step ``at_step`` on ``rank``."""
    return (f"import os, signal\nfrom i2i.training.step import PairTrainer\n_step, _calls = PairTrainer.step, []\n"
            f"def step(self, a, b):\n    _calls.append(1)\n"
            f"    if len(_calls) == {at_step} and os.environ['RANK'] == '{rank}':\n        {action}\n"
            f"    return _step(self, a, b)\nPairTrainer.step = step\n")


def workers(home, *args, prelude: str = "", world: int = 2) -> list[subprocess.Popen]:
    """``i2i ARGS`` in ``world`` processes, with the environment torchrun gives them (env:// rendezvous)."""
    port, procs = free_port(), []
    code = prelude + "import sys\nfrom i2i.cli import main\nsys.argv = ['i2i', *sys.argv[1:]]\nmain()\n"
    for rank in range(world):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
               "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "OMP_NUM_THREADS": "1", "I2I_HOME": str(home)}
        procs.append(subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return procs


def finish(procs, timeout: float = 600) -> list[tuple[int, str]]:
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results.append((proc.returncode, out + err))
    return results


def assert_all_ok(results):
    for code, output in results:
        assert code == 0, output


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error")]


def losses(run) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "img_per_s"}
            for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "loss_g" in r]


def latest(run) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / "latest.safetensors"))


# --- without processes: the shards, the regrouped batch, the relaunched command line ------------------------

@pytest.mark.parametrize("n", [8, 7, 5, 1])
@pytest.mark.parametrize("world", [2, 3])
def test_shards_are_disjoint_parts_of_the_one_process_batches(n, world):
    def batches(sampler):
        return [[i for _, i in batch] for batch in sampler]

    single = batches(EpochBatchSampler(n, 2 * world, shuffle=True, seed=3, epoch=1))
    shards = [batches(EpochBatchSampler(n, 2, shuffle=True, seed=3, epoch=1, rank=r, world_size=world))
              for r in range(world)]
    assert all(len(shard) == len(single) for shard in shards)
    for b, batch in enumerate(single):
        parts = [shard[b] for shard in shards]
        assert all(parts)  # every rank has a batch to step on, even in a short last one
        if len(batch) >= world:
            assert sum(parts, []) == batch  # disjoint, in order
        else:
            assert sum(parts, [])[: len(batch)] == batch  # topped up from the epoch's start
    resumed = EpochBatchSampler(n, 2, shuffle=True, seed=3, epoch=1, start_batch=1, rank=1, world_size=world)
    assert batches(resumed) == shards[1][1:]


def test_resuming_with_another_number_of_processes_keeps_the_global_batch():
    config = TrainConfig(batch_size=2, world_size=2)
    assert config.as_dict()["global_batch_size"] == 4
    assert TrainConfig.from_dict(config.as_dict()) == config
    config.regroup(4)
    assert (config.batch_size, config.world_size) == (1, 4)
    config.regroup(1)
    assert (config.batch_size, config.world_size) == (4, 1)
    with pytest.raises(ConfigError, match="global batch of 4 .* cannot be shared by 3 processes; resume it with 1, 2, 4"):
        config.regroup(3)


def test_nproc_relaunches_the_command_line_as_given():
    ctx = train_command.make_context("train", ["--nproc", "2", "--gen-arg", "ngf=8", "--gen-arg", "num_downs=5",
                                               "--no-flip", "--quiet", "--epochs", "3", "--sync-bn"])
    assert _command_line(ctx, drop={"nproc"}) == ["train", "--gen-arg", "ngf=8", "--gen-arg", "num_downs=5",
                                                 "--epochs", "3", "--no-flip", "--quiet", "--sync-bn"]


# --- 2 processes ------------------------------------------------------------------------------------------

TWO_GPUS = [pytest.mark.cuda, pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")]


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=TWO_GPUS)])  # gloo; NCCL
def test_two_ranks_of_batch_1_match_one_process_of_batch_2(device, data, home, tmp_path):
    """With SyncBatchNorm the global batch is the batch: same losses, weights and running statistics."""
    args = [*TINY, "--data", data, "--gen-arg", "dropout=0", "--device", device]
    assert_all_ok(finish(workers(home, "train", *args, "--batch-size", 1, "--out", tmp_path / "two")))
    result = CliRunner().invoke(cli, ["train", *map(str, args), "--batch-size", "2", "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output

    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert (config["world_size"], config["batch_size"], config["global_batch_size"], config["sync_bn"]) == (2, 1, 2, True)
    two, one = losses(tmp_path / "two"), losses(tmp_path / "one")
    assert len(two) == len(one) == TRAIN_PAIRS  # 2 steps an epoch, 2 epochs
    for ours, theirs in zip(two, one):
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-4), key
    ours, theirs = latest(tmp_path / "two"), latest(tmp_path / "one")
    for key in (k for k in theirs if k.startswith(("generator.", "discriminator.", "opt_"))):
        torch.testing.assert_close(ours[key], theirs[key], rtol=1e-3, atol=2e-5, msg=key)
    assert any("running_var" in k for k in theirs)


@pytest.mark.slow
def test_a_killed_rank_ends_the_other_with_one_clear_error(data, home, tmp_path):
    kill = step_hook(2, 1, "os.kill(os.getpid(), signal.SIGKILL)")
    (code0, output0), (code1, _) = finish(workers(home, "train", *TINY, "--data", data, "--out", tmp_path / "run",
                                                  prelude=kill))
    assert code1 == -signal.SIGKILL
    assert code0 == 1 and "Traceback" not in output0, output0
    [line] = error_lines(output0)
    assert "another process stopped without a message" in line and "rank 0 of 2 stops too" in line
    assert f"`i2i train --resume {tmp_path / 'run'}` continues" in line


@pytest.mark.slow
def test_a_hung_rank_ends_the_other_after_the_timeout(data, home, tmp_path):
    hang = step_hook(2, 1, "os.kill(os.getpid(), signal.SIGSTOP)")
    procs = workers(home, "train", *TINY, "--data", data, "--out", tmp_path / "run", "--dist-timeout", 20, prelude=hang)
    try:
        code, output = finish(procs[:1])[0]
    finally:
        procs[1].kill()
        procs[1].communicate()
    assert code == 1 and "Traceback" not in output, output
    [line] = error_lines(output)
    assert "another process stopped without a message" in line


@pytest.mark.slow
def test_a_failing_rank_names_itself_to_the_others(data, home, tmp_path):
    fail = step_hook(2, 1, "from i2i.core.errors import DataError; raise DataError('cannot read pair 7.png')")
    (code0, output0), (code1, output1) = finish(workers(home, "train", *TINY, "--data", data, "--out",
                                                        tmp_path / "run", prelude=fail))
    assert code1 == 1 and error_lines(output1) == ["Error: cannot read pair 7.png"], output1
    assert code0 == 1 and error_lines(output0) == [
        f"Error: rank 1 failed: cannot read pair 7.png; rank 0 of 2 stops too; "
        f"`i2i train --resume {tmp_path / 'run'}` continues from the last checkpoint"], output0


@pytest.fixture(scope="module")
def torchrun_run(data, home, tmp_path_factory):
    """The demo task trained by torchrun with 2 CPU processes, uninterrupted."""
    run = tmp_path_factory.mktemp("torchrun") / "run"
    env = {**os.environ, "I2I_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                             "-m", "i2i", "train", *TINY, "--data", str(data), "--out", str(run)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return run


@pytest.mark.slow
def test_torchrun_trains_the_demo_task_into_one_run_dir_that_translates(torchrun_run, home, tmp_path, monkeypatch):
    config = json.loads((torchrun_run / "config.json").read_text())
    assert (config["world_size"], config["global_batch_size"]) == (2, 2)
    assert [r["step"] for r in losses(torchrun_run)] == list(range(1, TRAIN_PAIRS + 1))
    assert read_checkpoint_meta(torchrun_run / "checkpoints" / "latest.safetensors")["global_step"] == TRAIN_PAIRS
    assert sorted(p.name for p in (torchrun_run / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    monkeypatch.setenv("I2I_HOME", str(home))
    Image.new("RGB", (70, 45), (90, 160, 40)).save(tmp_path / "img.png")
    result = CliRunner().invoke(cli, ["translate", str(torchrun_run), str(tmp_path / "img.png"),
                                      "-o", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "img.png") as image:
        assert image.size == (70, 45)


@pytest.mark.slow
def test_ctrl_c_on_one_rank_stops_both_after_the_same_step_and_resumes_bit_identically(
        torchrun_run, data, home, tmp_path, monkeypatch):
    run = tmp_path / "run"
    interrupt = step_hook(3, 0, "signal.raise_signal(signal.SIGINT)")
    (code0, output0), (code1, output1) = finish(workers(home, "train", *TINY, "--data", data, "--out", run,
                                                        prelude=interrupt))
    assert code0 == code1 == 130, output0 + output1
    assert error_lines(output0) == [f"Error: interrupted in epoch 2 after batch 1 of 2; checkpoint saved: resume "
                                    f"with `i2i train --resume {run}`"]
    assert error_lines(output1) == []  # rank 0 says it once
    meta = read_checkpoint_meta(run / "checkpoints" / "latest.safetensors")
    assert (meta["epoch"], meta["batch_in_epoch"], meta["global_step"]) == (1, 1, 3)

    shutil.copytree(run, tmp_path / "alone")

    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--nproc", "2", "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    ours, theirs = latest(run), latest(torchrun_run)
    assert ours.keys() == theirs.keys()
    assert not [k for k in ours if not torch.equal(ours[k], theirs[k])]
    assert losses(run) == losses(torchrun_run)

    # With one process instead of two: the same global batch, and the run says what changes.
    result = CliRunner().invoke(cli, ["train", "--resume", str(tmp_path / "alone"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert ("this run trained with 2 process(es) x batch 1; it continues with 1 x 2: the same global batch of 2"
            in result.output)
    config = json.loads((tmp_path / "alone" / "config.json").read_text())
    assert (config["world_size"], config["batch_size"], config["global_batch_size"]) == (1, 2, 2)
    assert [r["step"] for r in losses(tmp_path / "alone")] == list(range(1, TRAIN_PAIRS + 1))
