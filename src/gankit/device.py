"""Choosing the device a run computes on."""

from __future__ import annotations

import torch

from gankit.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cpu', 'cuda', 'cuda:N' are checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} asked for, but no CUDA device is visible; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type != "cpu":
        raise ConfigError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 convolutions and matrix products run faster than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        cpuinfo = open("/proc/cpuinfo").read()
    except OSError:  # not Linux: no cheap way to tell, so stay with float32
        return False
    return cpu_bf16_is_fast(cpuinfo)


def cpu_bf16_is_fast(cpuinfo: str) -> bool:
    """Whether a CPU (its /proc/cpuinfo) computes bfloat16 faster than float32.

    Intel's AMX tiles (amx_bf16) do. AVX512-BF16 alone does on AMD's Zen 4 and later,
    but not on Intel's Cooper Lake-era cores, where PyTorch's bf16 kernels ran slower
    than float32 (docs/performance.md has both machines' numbers).
    """
    flags = set(cpuinfo.split())
    if "amx_bf16" in flags:
        return True
    return "avx512_bf16" in flags and "AuthenticAMD" in cpuinfo


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' -> 'bf16' where native, else 'fp32'."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return name
