"""``--precision auto``: bf16 where the hardware runs it natively (and so faster), fp32 elsewhere.

On a CPU, bf16 autocast is only faster with native bf16 instructions (AVX512-BF16 dot products, AMX tiles):
on an AVX2-only CPU PyTorch emulates it and a training step takes about 3x as long as in fp32. PyTorch's
own switches that limit a newer CPU to older instructions (``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2``) count as that older CPU. On CUDA, bf16 is native from compute capability 8.0
(Ampere) on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from i2i.accel.device import PRECISIONS, Precision, check_precision
from i2i.core.errors import ConfigError

CHOICES = ("auto", *PRECISIONS)
# oneDNN ISA limits (ONEDNN_MAX_CPU_ISA) that still include bf16 instructions.
_ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX10", "ALL", "DEFAULT")


@dataclass(frozen=True)
class CpuFeatures:
    """What PyTorch's CPU kernels may use: their capability level, the CPU's bf16 instructions, oneDNN's limit."""

    capability: str                 # torch.backends.cpu.get_cpu_capability(): "AVX512", "AVX2", "DEFAULT", ...
    avx512_bf16: bool
    amx: bool
    onednn_max_isa: str | None = None

    @classmethod
    def detect(cls) -> "CpuFeatures":
        flags = _cpuinfo_flags()
        return cls(capability=torch.backends.cpu.get_cpu_capability(),
                   avx512_bf16="avx512_bf16" in flags or _torch_cpu_has("_is_avx512_bf16_supported"),
                   amx="amx_bf16" in flags or _torch_cpu_has("_is_amx_tile_supported"),
                   onednn_max_isa=os.environ.get("ONEDNN_MAX_CPU_ISA") or None)

    def native_bf16(self) -> str | None:
        """The native bf16 feature the kernels may use ("AMX", "AVX512-BF16"), or None."""
        if not self.capability.upper().startswith("AVX512"):
            return None
        if self.onednn_max_isa and not self.onednn_max_isa.upper().startswith(_ONEDNN_BF16_ISAS):
            return None
        return "AMX" if self.amx else "AVX512-BF16" if self.avx512_bf16 else None

    def describe(self) -> str:
        """E.g. ``AVX2 CPU (no AVX512-BF16 or AMX)`` or ``AVX512 CPU with AMX``."""
        native = self.native_bf16()
        if native:
            return f"{self.capability} CPU with {native}"
        limits = [f"ATEN_CPU_CAPABILITY={os.environ['ATEN_CPU_CAPABILITY']}"] if "ATEN_CPU_CAPABILITY" in os.environ else []
        limits += [f"ONEDNN_MAX_CPU_ISA={self.onednn_max_isa}"] if self.onednn_max_isa else []
        return f"{self.capability} CPU (no AVX512-BF16 or AMX{' in use: ' + ', '.join(limits) if limits else ''})"


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def _torch_cpu_has(check: str) -> bool:
    """torch.cpu's own instruction check (cpuinfo-based, also where /proc/cpuinfo is missing)."""
    try:
        return bool(getattr(torch.cpu, check)())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses, why, and a one-line warning when an explicit choice will be slow."""

    precision: Precision
    reason: str
    warning: str | None = None

    def as_record(self) -> dict[str, str]:
        return {"precision": self.precision, "precision_reason": self.reason}


def choose_precision(requested: str, device: torch.device, cpu: CpuFeatures | None = None) -> PrecisionChoice:
    """Resolve ``auto`` from the hardware; keep an explicit choice, warning if bf16 is emulated there."""
    if requested not in CHOICES:
        raise ConfigError(f"unknown precision {requested!r}; use one of {', '.join(CHOICES)}")
    slow = None  # why an explicit bf16 is slow on this device
    if device.type == "cpu":
        cpu = cpu or CpuFeatures.detect()
        native, hardware = cpu.native_bf16(), cpu.describe()
        slow = "emulates bf16 in software (about 3x slower than fp32 on an AVX2-only CPU)"
    elif device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        native = "bf16 tensor cores" if major >= 8 else None
        hardware = f"GPU of compute capability {major}.{minor}"
        slow = "has no bf16 tensor cores (from 8.0 on), so bf16 runs no faster than fp32"
    else:
        native, hardware = None, f"{device.type} device"
    if requested == "auto":
        if native:
            return PrecisionChoice("bf16", f"auto: this {hardware} runs bf16 natively, faster than fp32")
        return PrecisionChoice("fp32", f"auto: bf16 would be slower than fp32 on this {hardware}")
    precision = check_precision(requested, device)
    warning = None
    if precision == "bf16" and not native and slow:
        warning = f"--precision bf16 will be slow: this {hardware} {slow}; --precision auto picks fp32 here"
    return PrecisionChoice(precision, f"--precision {requested}", warning)
