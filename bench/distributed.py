"""Data-parallel training speed: N processes (torchrun, DDP, SyncBatchNorm) against one process.

Each configuration trains unet + the 70x70 PatchGAN (L1 + cGAN) on random images of ``--size`` px
(data loading is not measured) with ``i2i.training.step.PairTrainer`` and i2i's DDP wrapping, and reports
global images/s. Configurations are launched in alternating repeats (A, B, C, A, B, C, ...), each
launch times ``--rounds`` rounds of ``--steps`` steps after ``--warmup`` untimed ones; every
configuration reports the median round.

CPU (default): 2 gloo processes x 1 thread (batch 1 each) against 1 process x 2 threads (batch 2: the
same global batch on the same cores) and 1 process x 1 thread (batch 1: what each of the 2 has).
CUDA: N NCCL processes, one GPU each (batch B each) against one GPU (batch B): weak scaling.

    python bench/distributed.py                           # CPU, a few minutes
    python bench/distributed.py --device cuda --nproc 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(args) -> None:
    """One launch of one configuration (under torchrun when it has several processes)."""
    import torch

    from i2i.training import distributed
    from i2i.training.step import PairTrainer

    sys.path.insert(0, str(HERE))
    from bench import build_networks  # bench/bench.py

    torch.set_num_threads(args.threads)
    device = distributed.setup(args.device)
    world = distributed.world()
    generator, discriminator, objective = build_networks(args.size)
    if world.active:
        generator = distributed.convert_sync_batchnorm(generator, device)
        discriminator = distributed.convert_sync_batchnorm(discriminator, device)
    trainer = PairTrainer(generator, discriminator, objective, lr=2e-4, betas=(0.5, 0.999), device=device,
                          data_parallel=distributed.data_parallel)
    torch.manual_seed(world.rank)
    a = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1
    b = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1

    def run(steps: int) -> float:
        if world.active:
            torch.distributed.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            trainer.step(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if world.active:
            torch.distributed.barrier()
        return time.perf_counter() - start

    run(args.warmup)
    rates = [args.batch * world.size * args.steps / run(args.steps) for _ in range(args.rounds)]
    if world.is_main:
        print(json.dumps({"img_per_s": rates}), flush=True)
    distributed.teardown()


def configurations(args) -> list[dict]:
    if args.device == "cpu":
        return [
            {"name": "1 process x 2 threads, batch 2", "nproc": 1, "threads": 2, "batch": 2},
            {"name": f"{args.nproc} gloo processes x 1 thread, batch 1 each", "nproc": args.nproc, "threads": 1,
             "batch": 1},
            {"name": "1 process x 1 thread, batch 1", "nproc": 1, "threads": 1, "batch": 1},
        ]
    return [
        {"name": f"1 GPU, batch {args.batch}", "nproc": 1, "threads": args.threads, "batch": args.batch},
        {"name": f"{args.nproc} GPUs (NCCL), batch {args.batch} each", "nproc": args.nproc, "threads": args.threads,
         "batch": args.batch},
    ]


def launch(args, config: dict) -> list[float]:
    common = [str(Path(__file__).resolve()), "--worker", "--device", args.device, "--size", str(args.size),
              "--steps", str(args.steps), "--warmup", str(args.warmup), "--rounds", str(args.rounds),
              "--threads", str(config["threads"]), "--batch", str(config["batch"])]
    prefix = [sys.executable] if config["nproc"] == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(config["nproc"])]
    env = {**os.environ, "OMP_NUM_THREADS": str(config["threads"])}
    result = subprocess.run([*prefix, *common], capture_output=True, text=True, env=env, timeout=args.timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode or not lines:
        raise SystemExit(f"{config['name']} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(lines[-1])["img_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--nproc", type=int, default=2, help="processes of the distributed configuration")
    parser.add_argument("--size", type=int, default=0, help="image size [128 on the CPU, 256 on CUDA]")
    parser.add_argument("--batch", type=int, default=1, help="batch per process (CUDA; the CPU configs fix theirs)")
    parser.add_argument("--steps", type=int, default=4, help="training steps per timed round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per launch")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per launch")
    parser.add_argument("--repeats", type=int, default=3, help="launches per configuration, alternating")
    parser.add_argument("--threads", type=int, default=1, help="threads per process (CUDA configs)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per launch")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.size = args.size or (128 if args.device == "cpu" else 256)
    if args.worker:
        worker(args)
        return
    configs = configurations(args)
    rates: dict[str, list[float]] = {c["name"]: [] for c in configs}
    for repeat in range(args.repeats):
        for config in configs:
            launched = launch(args, config)
            rates[config["name"]] += launched
            print(f"repeat {repeat + 1}/{args.repeats} {config['name']}: rounds "
                  f"{', '.join(f'{r:.3f}' for r in launched)} img/s", file=sys.stderr, flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    names = [c["name"] for c in configs]
    distributed_rate = medians[names[1]]
    print("| configuration | img/s (median) | rounds | min | max |\n|---|---:|---:|---:|---:|")
    for name in names:
        print(f"| {name} | {medians[name]:.3f} | {len(rates[name])} | {min(rates[name]):.3f} | {max(rates[name]):.3f} |")
    if args.device == "cpu":
        same_cores = distributed_rate / medians[names[0]]
        per_process = distributed_rate / (args.nproc * medians[names[2]])
        print(f"\n{args.nproc} processes against 1 process with the same cores: {same_cores:.2f}x; "
              f"scaling efficiency against {args.nproc} x one 1-thread process: {per_process:.0%}")
        summary = {"same_cores_ratio": same_cores, "scaling_efficiency": per_process}
    else:
        efficiency = distributed_rate / (args.nproc * medians[names[0]])
        print(f"\nscaling efficiency ({args.nproc} GPUs against {args.nproc} x one GPU): {efficiency:.0%}")
        summary = {"scaling_efficiency": efficiency}
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "rates": rates, "medians": medians, **summary},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
