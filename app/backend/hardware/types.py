"""Plain, JSON-friendly records describing the machine; shared by detection, monitor and UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CpuInfo:
    """What the CPU can do for llama.cpp: its kernels are picked by instruction set."""

    model: str
    physical_cores: int
    logical_cores: int
    instruction_sets: tuple[str, ...]  # subset of AVX, AVX2, AVX512F, FMA, F16C, NEON, SVE
    arch: str  # platform.machine(), e.g. "x86_64", "arm64"


@dataclass(frozen=True)
class RamInfo:
    total_bytes: int
    available_bytes: int


@dataclass(frozen=True)
class GpuInfo:
    """One NVIDIA GPU as NVML reports it; optional fields are None when NVML can't say."""

    index: int
    name: str
    vram_total_bytes: int
    vram_used_bytes: int
    vram_free_bytes: int
    utilization_pct: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None


@dataclass(frozen=True)
class GpuStatus:
    """GPUs found, or ``available=False`` with a sentence the UI can show as-is."""

    available: bool
    gpus: tuple[GpuInfo, ...] = ()
    driver_version: str | None = None
    reason: str | None = None

    @property
    def free_vram(self) -> list[int]:
        return [g.vram_free_bytes for g in self.gpus]


@dataclass(frozen=True)
class LlamaBackendInfo:
    """The llama.cpp build Hearth runs: which backend it was compiled with, can it offload."""

    importable: bool
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", ... or "unknown"
    supports_gpu_offload: bool
    system_info: str = ""
    version: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class HardwareInfo:
    """Static description gathered once at startup (and on demand)."""

    cpu: CpuInfo
    ram: RamInfo
    gpu: GpuStatus
    llama: LlamaBackendInfo

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GpuSample:
    index: int
    utilization_pct: float | None
    vram_used_bytes: int
    vram_total_bytes: int
    power_w: float | None
    temperature_c: float | None


@dataclass(frozen=True)
class HardwareSnapshot:
    """One monitor sample (about once a second); cheap to build, cheap to send across threads."""

    timestamp: float
    cpu_percent: float
    ram_used_bytes: int
    ram_available_bytes: int
    ram_total_bytes: int
    per_core_percent: tuple[float, ...] = ()
    gpus: tuple[GpuSample, ...] = ()
    process_rss_bytes: dict[int, int] = field(default_factory=dict)
    gpu_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadedModelInfo:
    """Where one loaded model lives, for the hardware page (filled from the engine's plan)."""

    name: str
    n_layers: int
    gpu_layers: int  # llama.cpp n_gpu_layers (n_layers + 1 includes the output layer)
    n_ctx: int
    type_k: str = "f16"
    type_v: str = "f16"
    gpu_bytes: int = 0
    cpu_bytes: int = 0
    pid: int | None = None
