"""CPU flags, llama.cpp backend naming and the whole-machine description."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import psutil

from app.backend.hardware import HardwareMonitor, detect_cpu, detect_hardware, parse_cpuinfo
from app.backend.hardware.llama_backend import backend_from_system_info, detect_llama_backend
from tests.helpers.fake_nvml import FakeNvml

X86 = """processor\t: 0
model name\t: AMD Ryzen 9 7950X 16-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw
processor\t: 1
model name\t: AMD Ryzen 9 7950X 16-Core Processor
flags\t\t: fpu sse
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes sve
CPU implementer\t: 0x41
"""


def test_parse_x86_cpuinfo() -> None:
    model, sets = parse_cpuinfo(X86)
    assert model == "AMD Ryzen 9 7950X 16-Core Processor"
    assert sets == ("AVX", "AVX2", "AVX512F", "FMA", "F16C")


def test_parse_arm_cpuinfo() -> None:
    model, sets = parse_cpuinfo(ARM)
    assert model is None
    assert sets == ("NEON", "SVE")


def test_detect_cpu_without_proc(tmp_path: Path) -> None:
    cpu = detect_cpu(tmp_path / "missing")
    assert cpu.logical_cores >= cpu.physical_cores >= 1
    assert cpu.model


def test_backend_names() -> None:
    assert backend_from_system_info("CPU : SSE3 = 1 | AVX2 = 1 |", False) == "CPU"
    assert backend_from_system_info("CUDA : ARCHS = 900 | USE_GRAPHS = 1 |", True) == "CUDA"
    assert backend_from_system_info("MTL : EMBED_LIBRARY = 1 |", True) == "Metal"
    assert backend_from_system_info("", True) == "GPU (unknown backend)"


def test_detect_llama_backend_with_fake_module() -> None:
    fake = SimpleNamespace(
        llama_print_system_info=lambda: b"CUDA : ARCHS = 890 | CPU : AVX2 = 1 |",
        llama_supports_gpu_offload=lambda: True,
        __version__="0.3.36",
    )
    info = detect_llama_backend(fake)
    assert info.importable and info.backend == "CUDA" and info.supports_gpu_offload
    assert info.version == "0.3.36"


def test_detect_hardware_never_raises_without_driver() -> None:
    info = detect_hardware(FakeNvml.driver_missing(), probe_llama=False)
    assert not info.gpu.available
    assert info.ram.total_bytes > info.ram.available_bytes > 0
    assert info.to_dict()["cpu"]["logical_cores"] >= 1


def test_monitor_costs_under_one_percent_of_a_core_at_1hz() -> None:
    """The sampler's own CPU time per sample must stay far below 10 ms (1% of 1 s)."""
    mon = HardwareMonitor(FakeNvml.driver_missing(), per_core=True)
    pid = psutil.Process().pid
    n = 200
    start = time.process_time()
    for _ in range(n):
        mon.sample([pid])
    per_sample = (time.process_time() - start) / n
    assert per_sample < 0.010, f"{per_sample * 1e3:.2f} ms CPU per sample"
