"""i2i's speed against a plain eager fp32 loop of the same maths, in one process, as ratios.

Training (unet256 + 70x70 PatchGAN, L1 + cGAN, batch 1): the plain loop written out below (the reference
way: no autocast, contiguous tensors, default ``torch.optim.Adam``, D's gradients not frozen during G's
step) against ``i2i.training.step.PairTrainer`` in fp32 and bf16 (and fp16 on CUDA). Translation (the
generator's forward in the paper's test mode, batch 1): a plain fp32 forward against
``i2i.models.translator.Translator``. Configurations run in alternating rounds (A, B, C, A, B, C, ...) and each
reports the median over rounds, so drifts in machine load hit them alike. Peak memory is measured per
configuration while it is built and warmed up. A short quality check trains fp32 and bf16 from the same
weights on the same batches and prints the losses side by side.

    python bench/bench.py                      # CPU, a few minutes
    python bench/bench.py --device cuda --json out.json
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from i2i.core.components import set_inference_mode
from i2i.core.plugin_manager import get_registry
from i2i.models.translator import Translator
from i2i.training.objective import Objective
from i2i.training.step import PairTrainer

LR, BETAS, LAMBDA_L1 = 2e-4, (0.5, 0.999), 100.0


# --- the reference: a plain eager fp32 loop --------------------------------------------------------------

class PlainLoop:
    """pix2pix's step as one would write it by hand: fp32, contiguous, default Adam, D not frozen for G."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, device: torch.device) -> None:
        self.device = device
        self.generator, self.discriminator = generator.to(device), discriminator.to(device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=LR, betas=BETAS)

    @property
    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real_a, real_b = real_a.to(self.device), real_b.to(self.device)
        fake_b = self.generator(real_a)
        self.opt_d.zero_grad()
        pred_fake = self.discriminator(torch.cat([real_a, fake_b.detach()], 1))
        pred_real = self.discriminator(torch.cat([real_a, real_b], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
                        + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real)))
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        pred_fake = self.discriminator(torch.cat([real_a, fake_b], 1))
        loss_g = (F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))
                  + LAMBDA_L1 * F.l1_loss(fake_b, real_b))
        loss_g.backward()
        self.opt_g.step()
        return loss_g, loss_d


# --- networks, memory, machine ---------------------------------------------------------------------------

def build_networks(size: int, seed: int = 0) -> tuple[nn.Module, nn.Module, Objective]:
    """unet (depth from the crop size: unet256 at 256) and the 70x70 PatchGAN, from the registry."""
    registry = get_registry()
    torch.manual_seed(seed)
    gen_cls = registry.resolve("generators", "unet")
    generator = gen_cls(in_channels=3, out_channels=3, **gen_cls.default_args(size))
    discriminator = registry.resolve("discriminators", "patch70")(in_channels=3, out_channels=3, conditional=True)
    return generator, discriminator, Objective.build("l1+cgan", registry, LAMBDA_L1)


def _proc_status(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """Peak memory of what runs inside: CUDA bytes allocated, or the process's RSS high-water mark on a CPU.

    Reports the growth over the level at entry (so other configurations' tensors, alive in the same process,
    do not count). On a CPU the allocator's free memory is handed back first (``malloc_trim``) and the
    high-water mark is reset by writing 5 to /proc/self/clear_refs (Linux).
    """

    def __init__(self, device: torch.device) -> None:
        self.device, self.bytes = device, None

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return self
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
            self.base = _proc_status("VmRSS")
        except OSError:
            self.base = None
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.base
        elif self.base is not None:
            self.bytes = _proc_status("VmHWM") - self.base


def machine(device: torch.device) -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cores": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = cpuinfo.read().splitlines()
        info["cpu"] = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), "?")
        flags = next((l.split(":", 1)[1].split() for l in lines if l.startswith("flags")), [])
        info["cpu_flags"] = sorted(f for f in flags if f.startswith(("amx", "avx512_bf16", "avx512f", "avx2")))
    except OSError:
        info["cpu"] = platform.processor()
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- configurations --------------------------------------------------------------------------------------

@dataclass
class Config:
    name: str
    kind: str                     # "train" or "translate"
    run: Callable[[], object]     # one step or one translated image
    baseline: str                 # the configuration it is compared with
    memory: int | None = None
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)

    def per_item(self) -> float:
        return statistics.median(self.times)


def training_configs(args, device, base, a, b) -> list[tuple[str, Callable[[], Callable]]]:
    """(name, builder) pairs; a builder makes the trainer and returns its one-step function."""
    def plain():
        g, d, _ = copy.deepcopy(base)
        loop = PlainLoop(g, d, device)
        return lambda: loop.step(a, b)

    def i2i(precision, **options):
        def builder():
            g, d, objective = copy.deepcopy(base)
            trainer = PairTrainer(g, d, objective, lr=LR, betas=BETAS, device=device, precision=precision, **options)
            return lambda: trainer.step(a, b)
        return builder

    configs = [("train plain fp32", plain), *((f"train i2i {p}", i2i(p)) for p in precisions(args, device))]
    if args.variants and device.type == "cpu":
        for p in precisions(args, device):
            configs += [(f"train i2i {p}, PyTorch's conv kernels", i2i(p, small_conv_gemm=False)),
                        (f"train i2i {p}, channels_last", i2i(p, channels_last=True))]
    return configs


def translation_configs(args, device, base, image) -> list[tuple[str, Callable[[], Callable]]]:
    config = {"inference_mode": "paper", "in_channels": 3, "out_channels": 3}

    def plain():
        g = set_inference_mode(copy.deepcopy(base[0]).to(device), "paper")
        x = image[None].to(device)

        def run():
            with torch.no_grad():
                return g(x).cpu()
        return run

    def translator(precision, gemm=None):
        def builder():
            t = Translator(copy.deepcopy(base[0]), config, device=str(device), mode="paper", precision=precision,
                           cpu_gemm=gemm)
            return lambda: t.translate(image)
        return builder

    configs = [("translate plain fp32", plain),
               *((f"translate Translator {p}", translator(p)) for p in precisions(args, device))]
    if args.variants and device.type == "cpu":
        configs += [(f"translate Translator {p}, PyTorch's conv kernels", translator(p, gemm=False))
                    for p in precisions(args, device)]
    return configs


def precisions(args, device) -> list[str]:
    """The precisions to time: --precisions, else fp32 and bf16 (and fp16 on CUDA)."""
    if args.precisions:
        return args.precisions.split(",")
    return ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])


def build_and_warm(name: str, builder, kind: str, baseline: str, device, warmup: int) -> Config:
    with PeakMemory(device) as peak:
        run = builder()
        for _ in range(warmup):
            run()
        sync(device)
    return Config(name, kind, run, baseline, memory=peak.bytes)


def measure(configs: list[Config], rounds: int, repeats: dict[str, int], device, log) -> None:
    for r in range(rounds):
        for config in configs:
            n = repeats[config.kind]
            sync(device)
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                config.run()
            sync(device)
            config.times.append((time.perf_counter() - start) / n)
            config.cpu_times.append((time.process_time() - cpu) / n)
        log(f"  round {r + 1}/{rounds}: " + ", ".join(f"{c.name.split(' ', 1)[1]} {c.times[-1]:.3f}s" for c in configs))


# --- quality: fp32 and bf16 from the same weights on the same batches ------------------------------------

def quality(args, device) -> dict:
    size, steps = args.quality_size, args.quality_steps
    base = build_networks(size, seed=1)
    data = torch.Generator().manual_seed(2)
    batches = [(torch.rand(1, 3, size, size, generator=data) * 2 - 1,
                torch.rand(1, 3, size, size, generator=data) * 2 - 1) for _ in range(4)]
    runs = {"fp32, PyTorch's conv kernels": ("fp32", {"small_conv_gemm": False}), "fp32": ("fp32", {}),
            "bf16": ("bf16", {})}
    if device.type == "cuda":
        runs = {"fp32": ("fp32", {}), "bf16": ("bf16", {}), "fp16": ("fp16", {})}
    losses = {}
    for name, (precision, options) in runs.items():
        g, d, objective = copy.deepcopy(base)
        trainer = PairTrainer(g, d, objective, lr=LR, betas=BETAS, device=device, precision=precision, **options)
        rows = []
        for step in range(steps):
            torch.manual_seed(1000 + step)  # the same dropout masks where the draws line up
            a, b = batches[step % len(batches)]
            values = trainer.step(a, b).as_floats()
            rows.append({"l1": values["loss_g_l1"] / LAMBDA_L1, "g_cgan": values["loss_g_cgan"],
                         "d": values["loss_d"]})
        losses[name] = rows
    reference = "fp32"
    summary = {}
    for name, rows in losses.items():
        if name == reference:
            continue
        rel = [abs(r["l1"] - f["l1"]) / f["l1"] for r, f in zip(rows, losses[reference])]
        summary[name] = {"max_rel_diff_l1": max(rel), "final_l1": rows[-1]["l1"]}
    summary[reference] = {"final_l1": losses[reference][-1]["l1"], "first_l1": losses[reference][0]["l1"]}
    return {"size": size, "steps": steps, "batches": len(batches), "losses": losses, "summary": summary}


# --- main -------------------------------------------------------------------------------------------------

def fmt_bytes(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds; each config reports the median")
    parser.add_argument("--steps", type=int, default=3, help="training steps per configuration and round")
    parser.add_argument("--images", type=int, default=0, help="translations per configuration and round "
                                                                "(default: 4 x --steps)")
    parser.add_argument("--size", type=int, default=256, help="image size (default 256: unet256)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per configuration")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    parser.add_argument("--precisions", help="comma-separated precisions of i2i to time (default fp32,bf16; "
                                             "+fp16 on CUDA). On a CPU without native bf16: fp32")
    parser.add_argument("--variants", action="store_true",
                        help="also i2i and the Translator without each CPU optimisation")
    parser.add_argument("--quality-steps", type=int, default=40, help="steps of the fp32/bf16 check (0: skip)")
    parser.add_argument("--quality-size", type=int, default=64, help="image size of the fp32/bf16 check")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-translate", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    info = machine(device)
    log(f"{info.get('gpu') or info.get('cpu')}, torch {info['torch']}, {info['threads']} threads; "
        f"load average {os.getloadavg()[0]:.2f}")
    base = build_networks(args.size)
    data = torch.Generator().manual_seed(1)
    a = torch.rand(1, 3, args.size, args.size, generator=data) * 2 - 1
    b = torch.rand(1, 3, args.size, args.size, generator=data) * 2 - 1

    configs: list[Config] = []
    for name, builder in [] if args.skip_train else training_configs(args, device, base, a, b):
        log(f"building and warming up: {name}")
        configs.append(build_and_warm(name, builder, "train", "train plain fp32", device, args.warmup))
    if not args.skip_translate:
        for name, builder in translation_configs(args, device, base, a[0]):
            log(f"building and warming up: {name}")
            configs.append(build_and_warm(name, builder, "translate", "translate plain fp32", device, args.warmup))

    load_before = os.getloadavg()
    measure(configs, args.rounds, {"train": args.steps, "translate": args.images or 4 * args.steps}, device, log)
    load_after = os.getloadavg()

    by_name = {c.name: c for c in configs}
    results = []
    for c in configs:
        seconds = c.per_item()
        results.append({"name": c.name, "kind": c.kind, "seconds": seconds, "images_per_s": 1 / seconds,
                        "ratio": by_name[c.baseline].per_item() / seconds,
                        "cpu_s": statistics.median(c.cpu_times), "rounds_s": c.times, "peak_memory_bytes": c.memory})
    report_spread = max(max(c.times) / min(c.times) for c in configs)
    print(f"\n{info.get('gpu') or info.get('cpu')} | torch {info['torch']} | {info['threads']} threads | "
          f"{args.size}x{args.size}, batch 1 | median of {args.rounds} rounds | "
          f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}\n")
    print("| configuration | s/image | img/s | vs plain fp32 | best round s/image | CPU s/image | peak memory |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['seconds']:.3f} | {r['images_per_s']:.2f} | {r['ratio']:.2f}x | "
              f"{min(r['rounds_s']):.3f} | {r['cpu_s']:.3f} | {fmt_bytes(r['peak_memory_bytes'])} |")
    spread = max(max(r["rounds_s"]) / min(r["rounds_s"]) for r in results)
    if spread > 1.3:
        print(f"\nWARNING: one configuration's rounds differ by {spread:.1f}x: something else was using the "
              f"machine. Rerun when it is quiet (each round's time is in the JSON, 'rounds_s').")

    report = {"machine": info, "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
              "args": vars(args), "load_average": {"before": load_before, "after": load_after},
              "largest_round_spread": report_spread, "results": results}
    if args.quality_steps:
        log(f"quality check: {args.quality_steps} steps at {args.quality_size}x{args.quality_size}")
        report["quality"] = q = quality(args, device)
        names = list(q["losses"])
        print(f"\nQuality: {q['steps']} steps at {q['size']}x{q['size']}, same weights and batches; "
              f"L1 (without lambda) and D loss per step\n")
        print("| step | " + " | ".join(f"L1 {n} | D {n}" for n in names) + " |")
        print("|---:|" + "---:|" * (2 * len(names)))
        shown = sorted({0, 1, 2, 4, 9, 19, 29, q["steps"] - 1} & set(range(q["steps"])))
        for i in shown:
            print(f"| {i + 1} | " + " | ".join(f"{q['losses'][n][i]['l1']:.4f} | {q['losses'][n][i]['d']:.4f}"
                                              for n in names) + " |")
        tail = min(10, q["steps"])
        print(f"| mean of the last {tail} | " + " | ".join(
            f"{statistics.mean(r['l1'] for r in q['losses'][n][-tail:]):.4f} | "
            f"{statistics.mean(r['d'] for r in q['losses'][n][-tail:]):.4f}" for n in names) + " |")
        for name, s in q["summary"].items():
            if "max_rel_diff_l1" in s:
                print(f"\n{name} vs fp32: largest relative L1 difference over the run {s['max_rel_diff_l1']:.2%}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
        log(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
