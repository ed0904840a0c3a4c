"""A plain-text diagnostics report for bug reports: versions, hardware, settings, recent logs.

Why plain text: it is pasted into an issue or an e-mail, read by a person. Why the care:
it is pasted in *public*. Secrets never live in the settings file (they are in the keyring,
see ``app.backend.secrets``), but the report still drops anything whose key names a secret,
summarises free text the user typed (the default system prompt) by its length only, and runs
the whole report through ``logging_setup.redact`` as a last line of defence.

It may take a second or two (``detect_hardware`` imports llama.cpp and probes NVML), so the UI
calls it off the UI thread.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app import __version__
from app.backend.hardware.types import HardwareInfo
from app.backend.logging_setup import recent_log_lines, redact, tail_lines
from app.backend.paths import DataPaths
from app.backend.settings import Settings, SettingsStore

LOG_LINES = 80
ENGINE_LOG_LINES = 40
PACKAGES = ("llama_cpp_python", "PySide6-Essentials", "shiboken6", "jinja2", "huggingface-hub")
# Keys naming a secret: "token", "hf_token", "api_key", "client_secret"... (not "max_tokens").
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:token|secret|password|passwd|passphrase|credentials?|api_?key|auth)$"
)
# Values that are private without being secrets: reported by size only.
_PRIVATE_TEXT = {"default_system_prompt"}
# Values that only add noise to a report.
_NOISE = {"geometry_b64"}
GiB = 1024**3


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Hearth, Python, the OS and the packages that matter for a bug."""
    out = {
        "Hearth": __version__,
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
        "Machine": platform.machine(),
        "Bundle": "frozen (PyInstaller)" if getattr(sys, "frozen", False) else "source",
    }
    for name in PACKAGES:
        out[name] = _package_version(name)
    return out


def clean_settings(data: Any) -> Any:
    """Settings data with secret-looking keys removed and private text reduced to its size."""
    if isinstance(data, dict):
        cleaned: dict[str, Any] = {}
        for k, v in data.items():
            name = str(k)
            lowered = name.lower().replace("-", "_")
            if _SECRET_KEY.search(lowered):
                cleaned[name] = "<removed>"
            elif name in _NOISE:
                cleaned[name] = "<set>" if v else None
            elif name in _PRIVATE_TEXT and isinstance(v, str):
                cleaned[name] = f"<{len(v)} characters>" if v else ""
            else:
                cleaned[name] = clean_settings(v)
        return cleaned
    if isinstance(data, list):
        return [clean_settings(item) for item in data]
    return data


def _hardware_lines(hardware: HardwareInfo) -> list[str]:
    cpu, ram, gpu, llama = hardware.cpu, hardware.ram, hardware.gpu, hardware.llama
    lines = [
        f"CPU: {cpu.model} ({cpu.physical_cores} cores, {cpu.logical_cores} threads, "
        f"{cpu.arch}; {', '.join(cpu.instruction_sets) or 'no SIMD flags found'})",
        f"RAM: {ram.total_bytes / GiB:.1f} GiB total, {ram.available_bytes / GiB:.1f} GiB free",
    ]
    if gpu.available:
        for g in gpu.gpus:
            lines.append(
                f"GPU {g.index}: {g.name}, {g.vram_total_bytes / GiB:.1f} GiB VRAM "
                f"({g.vram_free_bytes / GiB:.1f} GiB free)"
            )
        if gpu.driver_version:
            lines.append(f"GPU driver: {gpu.driver_version}")
    else:
        lines.append(f"GPU: none usable ({gpu.reason or 'not found'})")
    if llama.importable:
        lines.append(
            f"llama.cpp: {llama.backend} build, GPU offload "
            f"{'supported' if llama.supports_gpu_offload else 'not supported'}"
        )
        if llama.system_info:
            lines.append(f"llama.cpp system info: {llama.system_info}")
    else:
        lines.append(f"llama.cpp: not usable ({llama.reason})")
    return lines


def _default_hardware() -> HardwareInfo:
    from app.backend.hardware import detect_hardware

    return detect_hardware()


def gather_diagnostics(
    paths: DataPaths,
    settings: Settings | None = None,
    *,
    hardware: Callable[[], HardwareInfo] | None = None,
    log_lines: int = LOG_LINES,
    engine_log_lines: int = ENGINE_LOG_LINES,
) -> str:
    """The full report as text. Never raises: a section that fails says why instead."""
    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("Versions", lambda: [f"{k}: {v}" for k, v in versions().items()]),
        ("Hardware", lambda: _hardware_lines((hardware or _default_hardware)())),
        ("Data folder", lambda: _data_lines(paths)),
        ("Settings", lambda: _settings_lines(paths, settings)),
        ("hearth.log (last lines)", lambda: recent_log_lines(paths.logs, log_lines)),
        (
            f"{_latest_engine_log(paths).name} (last lines)",
            lambda: tail_lines(_latest_engine_log(paths), engine_log_lines),
        ),
    ]
    out = [f"Hearth diagnostics, {time.strftime('%Y-%m-%d %H:%M:%S %z')}", ""]
    for title, build in sections:
        out.append(f"== {title} ==")
        try:
            body = build()
        except Exception as exc:  # a report that fails entirely helps nobody
            body = [f"(could not gather: {type(exc).__name__}: {exc})"]
        out.extend(body or ["(empty)"])
        out.append("")
    return redact("\n".join(out))


def _latest_engine_log(paths: DataPaths) -> Path:
    """The engine log written last (one per model: ``engine-<model>.log``)."""
    try:
        logs = sorted(paths.logs.glob("engine*.log"), key=lambda p: p.stat().st_mtime)
    except OSError:
        logs = []
    return logs[-1] if logs else paths.logs / "engine.log"


def _data_lines(paths: DataPaths) -> list[str]:
    lines = [f"Data root: {paths.root}"]
    if os.environ.get("HEARTH_HOME"):
        lines.append("(set by HEARTH_HOME)")
    try:
        usage = shutil.disk_usage(paths.root)
        lines.append(f"Disk free: {usage.free / GiB:.1f} GiB of {usage.total / GiB:.1f} GiB")
    except OSError as exc:
        lines.append(f"Disk free: unknown ({exc.strerror})")
    models = sorted(paths.models.rglob("*.gguf")) if paths.models.is_dir() else []
    size = sum(p.stat().st_size for p in models if p.exists())
    lines.append(f"Models in the data root: {len(models)} ({size / GiB:.2f} GiB)")
    return lines


def _settings_lines(paths: DataPaths, settings: Settings | None) -> list[str]:
    if settings is None:
        settings = SettingsStore(paths.settings_file).load()
    data = clean_settings(asdict(settings))
    return json.dumps(data, indent=2, sort_keys=True, default=str).splitlines()
