"""Hardware detection and live monitoring (Qt-free).

``detect_hardware()`` describes the machine once; ``HardwareMonitor.sample()`` produces a
``HardwareSnapshot`` about once a second for the live graphs.
"""

from .cpu import detect_cpu, detect_ram, parse_cpuinfo
from .detect import detect_hardware
from .llama_backend import detect_llama_backend
from .monitor import HardwareMonitor
from .nvml import NvmlLike, NvmlSession, describe_nvml_error, load_pynvml, query_gpus
from .types import (
    CpuInfo,
    GpuInfo,
    GpuSample,
    GpuStatus,
    HardwareInfo,
    HardwareSnapshot,
    LlamaBackendInfo,
    LoadedModelInfo,
    RamInfo,
)

__all__ = [
    "CpuInfo",
    "GpuInfo",
    "GpuSample",
    "GpuStatus",
    "HardwareInfo",
    "HardwareMonitor",
    "HardwareSnapshot",
    "LlamaBackendInfo",
    "LoadedModelInfo",
    "NvmlLike",
    "NvmlSession",
    "RamInfo",
    "describe_nvml_error",
    "detect_cpu",
    "detect_hardware",
    "detect_llama_backend",
    "detect_ram",
    "load_pynvml",
    "parse_cpuinfo",
    "query_gpus",
]
