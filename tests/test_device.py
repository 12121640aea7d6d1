import pytest
import torch

from gankit.device import cpu_bf16_is_fast, native_bf16, resolve_device, resolve_precision
from gankit.errors import ConfigError


def test_auto_precision_follows_the_hardware():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) else "fp32")


@pytest.mark.parametrize("cpuinfo, fast", [
    ("vendor_id : AuthenticAMD\nflags : avx512f avx512_bf16", True),  # Zen 4
    ("vendor_id : GenuineIntel\nflags : avx512f avx512_bf16", False),  # AVX512-BF16 without AMX
    ("vendor_id : GenuineIntel\nflags : avx512f avx512_bf16 amx_bf16 amx_tile", True),  # Sapphire Rapids
    ("vendor_id : AuthenticAMD\nflags : avx2", False),
])
def test_bf16_is_chosen_where_it_is_faster(cpuinfo, fast):
    assert cpu_bf16_is_fast(cpuinfo) is fast


def test_device_names_are_checked():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")
