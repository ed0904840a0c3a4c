"""Which llama.cpp build is installed: CPU-only wheels can't use a GPU however big it is."""

from __future__ import annotations

import re
from typing import Any

from .types import LlamaBackendInfo

# Markers in llama_print_system_info() / ggml backend names, in priority order.
_BACKENDS = (
    ("CUDA", re.compile(r"\bCUDA\b", re.I)),
    ("Metal", re.compile(r"\bMETAL\b|\bMTL\b", re.I)),
    ("Vulkan", re.compile(r"\bVULKAN\b", re.I)),
    ("ROCm", re.compile(r"\bHIP\b|\bROCm\b", re.I)),
    ("SYCL", re.compile(r"\bSYCL\b", re.I)),
)


def backend_from_system_info(info: str, supports_offload: bool) -> str:
    """Name the GPU backend mentioned in the system info, else CPU."""
    for name, pattern in _BACKENDS:
        if pattern.search(info):
            return name
    return "GPU (unknown backend)" if supports_offload else "CPU"


def _device_names(llama_cpp: Any) -> str:
    """Names of registered ggml devices, when the binding exposes the device API."""
    try:
        count = int(llama_cpp.ggml_backend_dev_count())
        names = []
        for i in range(count):
            dev = llama_cpp.ggml_backend_dev_get(i)
            name = llama_cpp.ggml_backend_dev_name(dev)
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return " ".join(names)
    except Exception:
        return ""


def detect_llama_backend(llama_cpp: Any | None = None) -> LlamaBackendInfo:
    """Inspect the llama_cpp module (imported here unless given); never raises."""
    if llama_cpp is None:
        try:
            import llama_cpp as _llama_cpp
        except Exception as exc:  # ImportError, or OSError from a broken shared library
            return LlamaBackendInfo(
                importable=False,
                backend="unknown",
                supports_gpu_offload=False,
                reason=f"llama-cpp-python is not usable: {exc}",
            )
        llama_cpp = _llama_cpp
    try:
        raw = llama_cpp.llama_print_system_info()
        info = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    except Exception:
        info = ""
    try:
        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        offload = False
    backend = backend_from_system_info(f"{info} {_device_names(llama_cpp)}", offload)
    return LlamaBackendInfo(
        importable=True,
        backend=backend,
        supports_gpu_offload=offload,
        system_info=info.strip(),
        version=getattr(llama_cpp, "__version__", None),
    )
