"""CPU and RAM facts that decide llama.cpp speed: core counts and SIMD instruction sets."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import psutil

from .types import CpuInfo, RamInfo

# /proc/cpuinfo flag -> the name llama.cpp prints in its system info (x86 "flags", arm "Features").
_FLAG_NAMES: dict[str, str] = {
    "avx": "AVX",
    "avx2": "AVX2",
    "avx512f": "AVX512F",
    "fma": "FMA",
    "f16c": "F16C",
    "asimd": "NEON",  # aarch64 Linux reports Advanced SIMD as "asimd"
    "neon": "NEON",  # 32-bit arm
    "sve": "SVE",
}
INSTRUCTION_SET_ORDER = ("AVX", "AVX2", "AVX512F", "FMA", "F16C", "NEON", "SVE")


def parse_cpuinfo(text: str) -> tuple[str | None, tuple[str, ...]]:
    """(model name, instruction sets) from /proc/cpuinfo text; first processor block wins."""
    model: str | None = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None:
            model = value.strip() or None
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    found = {_FLAG_NAMES[f] for f in flags if f in _FLAG_NAMES}
    return model, tuple(n for n in INSTRUCTION_SET_ORDER if n in found)


def detect_cpu(cpuinfo_path: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """CPU description; works without /proc (macOS, Windows) from platform/psutil only."""
    model: str | None = None
    sets: tuple[str, ...] = ()
    with contextlib.suppress(OSError):
        model, sets = parse_cpuinfo(cpuinfo_path.read_text(errors="replace"))
    machine = platform.machine()
    if not sets and machine.lower() in ("arm64", "aarch64"):
        sets = ("NEON",)  # every arm64 CPU has Advanced SIMD (Apple silicon has no /proc)
    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False) or logical
    return CpuInfo(
        model=model or platform.processor() or machine or "Unknown CPU",
        physical_cores=physical,
        logical_cores=logical,
        instruction_sets=sets,
        arch=machine,
    )


def detect_ram() -> RamInfo:
    vm = psutil.virtual_memory()
    return RamInfo(total_bytes=int(vm.total), available_bytes=int(vm.available))
