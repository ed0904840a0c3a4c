"""Turn detected hardware into the planner's ``Resources`` (the only hardware coupling)."""

from __future__ import annotations

from app.backend.hardware.types import HardwareInfo

from .plan import Resources


def resources_from_hardware(
    info: HardwareInfo,
    *,
    gpu_reserved_bytes: tuple[int, ...] = (),
    ram_reserved_bytes: int = 0,
) -> Resources:
    """Free VRAM per GPU and available RAM now; ``*_reserved`` = models about to load."""
    gpus = info.gpu.gpus if info.gpu.available else ()
    offload = info.llama.supports_gpu_offload or not info.llama.importable
    return Resources(
        gpu_free_bytes=tuple(g.vram_free_bytes for g in gpus),
        ram_available_bytes=info.ram.available_bytes,
        gpu_reserved_bytes=gpu_reserved_bytes,
        ram_reserved_bytes=ram_reserved_bytes,
        gpu_offload_supported=offload,
        gpu_names=tuple(g.name for g in gpus),
    )
