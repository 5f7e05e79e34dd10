"""--precision auto and the CPU GEMM switch, chosen from faked hardware: AVX2-only, AVX512-BF16, AMX, CUDA."""

import pytest
import torch

from i2i.accel import precision as precision_module
from i2i.accel.cpu_conv import choose_cpu_gemm
from i2i.accel.precision import CpuFeatures, choose_precision
from i2i.core.errors import ConfigError

CPU = torch.device("cpu")
AVX2 = CpuFeatures("AVX2", avx512_bf16=False, amx=False)
AVX512 = CpuFeatures("AVX512", avx512_bf16=False, amx=False)
AVX512_BF16 = CpuFeatures("AVX512", avx512_bf16=True, amx=False)
AMX = CpuFeatures("AVX512", avx512_bf16=True, amx=True)


@pytest.mark.parametrize("cpu, expected, feature", [
    (AVX2, "fp32", "AVX2 CPU (no AVX512-BF16 or AMX)"),
    (AVX512, "fp32", "AVX512 CPU (no AVX512-BF16 or AMX)"),
    (AVX512_BF16, "bf16", "AVX512 CPU with AVX512-BF16"),
    (AMX, "bf16", "AVX512 CPU with AMX"),
])
def test_auto_takes_bf16_only_where_the_cpu_has_it_natively(cpu, expected, feature):
    choice = choose_precision("auto", CPU, cpu)
    assert choice.precision == expected and choice.warning is None
    assert choice.reason.startswith("auto: ") and feature in choice.reason
    assert choice.as_record() == {"precision": expected, "precision_reason": choice.reason}


def test_explicit_bf16_without_native_bf16_warns_once_and_is_kept():
    slow = choose_precision("bf16", CPU, AVX2)
    assert slow.precision == "bf16" and slow.reason == "--precision bf16"
    assert "slow" in slow.warning and "AVX2" in slow.warning and "emulates bf16" in slow.warning
    assert "\n" not in slow.warning
    assert choose_precision("bf16", CPU, AMX).warning is None
    assert choose_precision("fp32", CPU, AMX) == precision_module.PrecisionChoice("fp32", "--precision fp32")


def test_pytorchs_isa_limits_count_as_the_older_cpu(monkeypatch):
    # ATEN_CPU_CAPABILITY=avx2 on an AMX machine: get_cpu_capability() says AVX2 though the flags have AMX.
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    limited = CpuFeatures("AVX2", avx512_bf16=True, amx=True)
    choice = choose_precision("auto", CPU, limited)
    assert choice.precision == "fp32" and "ATEN_CPU_CAPABILITY=avx2" in choice.reason
    onednn = CpuFeatures("AVX512", avx512_bf16=True, amx=True, onednn_max_isa="AVX2")
    assert choose_precision("auto", CPU, onednn).precision == "fp32"
    amx_allowed = CpuFeatures("AVX512", avx512_bf16=True, amx=True, onednn_max_isa="avx512_core_amx")
    assert choose_precision("auto", CPU, amx_allowed).precision == "bf16"


def test_detect_reads_torch_and_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(precision_module, "_cpuinfo_flags", lambda: {"avx2", "avx512f", "avx512_bf16", "amx_bf16"})
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert CpuFeatures.detect() == CpuFeatures("AVX512", True, True, "AVX512_CORE_BF16")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setattr(precision_module, "_cpuinfo_flags", lambda: {"avx2"})
    monkeypatch.setattr(precision_module, "_torch_cpu_has", lambda check: False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert CpuFeatures.detect() == AVX2
    assert choose_precision("auto", CPU).precision in ("fp32", "bf16")  # the real machine, whatever it is


@pytest.mark.parametrize("capability, expected", [((8, 0), "bf16"), ((9, 0), "bf16"), ((7, 5), "fp32")])
def test_cuda_auto_follows_bf16_tensor_cores(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    choice = choose_precision("auto", torch.device("cuda"))
    assert choice.precision == expected and f"{capability[0]}.{capability[1]}" in choice.reason
    assert (choose_precision("bf16", torch.device("cuda")).warning is None) == (expected == "bf16")
    assert choose_precision("fp16", torch.device("cuda")).precision == "fp16"


def test_bad_precisions_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        choose_precision("fp8", CPU, AVX2)
    with pytest.raises(ConfigError, match="fp16 autocast is for GPUs"):
        choose_precision("fp16", CPU, AVX2)


def test_cpu_gemm_switch_flag_then_environment_then_auto(monkeypatch):
    monkeypatch.delenv("I2I_CPU_GEMM", raising=False)
    assert choose_cpu_gemm(None, CPU)[0] is True and choose_cpu_gemm(None, CPU)[1].startswith("auto")
    assert choose_cpu_gemm(False, CPU) == (False, "--no-cpu-gemm")
    assert choose_cpu_gemm(None, torch.device("cuda"))[0] is False
    monkeypatch.setenv("I2I_CPU_GEMM", "0")
    assert choose_cpu_gemm(None, CPU) == (False, "I2I_CPU_GEMM=0")
    assert choose_cpu_gemm(True, CPU) == (True, "--cpu-gemm")
    monkeypatch.setenv("I2I_CPU_GEMM", "maybe")
    with pytest.raises(ConfigError, match="I2I_CPU_GEMM='maybe': use 1, 0 or auto"):
        choose_cpu_gemm(None, CPU)
