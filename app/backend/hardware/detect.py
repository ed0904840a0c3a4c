"""One call that describes the whole machine for the hardware page and the planner."""

from __future__ import annotations

from .cpu import detect_cpu, detect_ram
from .llama_probe import probe_llama_backend
from .nvml import NvmlLike, query_gpus
from .types import HardwareInfo, LlamaBackendInfo


def detect_hardware(
    nvml: NvmlLike | None = None,
    *,
    use_system_nvml: bool = True,
    llama: LlamaBackendInfo | None = None,
    probe_llama: bool = True,
) -> HardwareInfo:
    """CPU, RAM, GPUs and the llama.cpp build. Never raises for missing drivers or libraries.

    The llama.cpp build is probed in a child process (once per process; see ``llama_probe``),
    so this process never loads llama.cpp. ``probe_llama=False`` skips the probe; the backend
    is then reported as unknown.
    """
    if llama is None:
        llama = (
            probe_llama_backend()
            if probe_llama
            else LlamaBackendInfo(False, "unknown", False, reason="not probed")
        )
    return HardwareInfo(
        cpu=detect_cpu(),
        ram=detect_ram(),
        gpu=query_gpus(nvml, use_system=use_system_nvml),
        llama=llama,
    )
