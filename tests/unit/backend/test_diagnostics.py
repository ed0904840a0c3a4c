"""The diagnostics report: everything a bug report needs, nothing a public paste must not hold."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.backend.diagnostics import clean_settings, gather_diagnostics
from app.backend.hardware.types import (
    CpuInfo,
    GpuStatus,
    HardwareInfo,
    LlamaBackendInfo,
    RamInfo,
)
from app.backend.logging_setup import setup_logging, teardown_logging
from app.backend.paths import DataPaths
from app.backend.settings import SettingsStore


def _hardware() -> HardwareInfo:
    return HardwareInfo(
        cpu=CpuInfo("Test CPU 9000", 4, 8, ("AVX", "AVX2"), "x86_64"),
        ram=RamInfo(16 * 1024**3, 8 * 1024**3),
        gpu=GpuStatus(False, reason="No NVIDIA driver was found."),
        llama=LlamaBackendInfo(True, "CPU", False, system_info="CPU : SSE3 = 1 | AVX2 = 1"),
    )


def test_report_has_versions_hardware_settings_and_log_tail(isolated_home: Path) -> None:
    paths = DataPaths(isolated_home).ensure()
    store = SettingsStore(paths.settings_file)

    def edit(settings):  # type: ignore[no-untyped-def]
        settings.chat.default_system_prompt = "My private instructions about my employer"
        settings.window.geometry_b64 = "AdnQywADAAAAAAAA"
        settings.load_defaults.n_ctx = 8192

    store.update(edit)
    setup_logging(paths.logs)
    try:
        logging.getLogger("hearth.test").info("model loaded fine")
        logging.getLogger("hearth.test").info("header Bearer hf_abcdefghijklmnopqrstuv")
    finally:
        teardown_logging()
    (paths.logs / "engine-old_model.log").write_text("from an older model\n")
    os.utime(paths.logs / "engine-old_model.log", (1, 1))
    (paths.logs / "engine-google_gemma.log").write_text("llama_model_load: loaded meta data\n")

    report = gather_diagnostics(paths, hardware=_hardware)

    assert "== Versions ==" in report and "Hearth: 0.1.0" in report
    assert "llama_cpp_python:" in report and "Python: CPython 3." in report
    assert "Test CPU 9000 (4 cores, 8 threads, x86_64; AVX, AVX2)" in report
    assert "RAM: 16.0 GiB total" in report
    assert "llama.cpp: CPU build" in report and "AVX2 = 1" in report
    assert '"n_ctx": 8192' in report
    assert '"max_tokens": 512' in report  # a count of tokens is no secret
    assert "My private instructions" not in report
    assert '"default_system_prompt": "<41 characters>"' in report
    assert "AdnQywADAAAAAAAA" not in report
    assert "model loaded fine" in report
    assert "hf_abcdefghijklmnopqrstuv" not in report
    assert "== engine-google_gemma.log (last lines) ==" in report
    assert "llama_model_load: loaded meta data" in report
    assert "from an older model" not in report
    assert f"Data root: {paths.root}" in report


def test_a_failing_section_says_so_and_the_rest_still_comes(isolated_home: Path) -> None:
    def broken() -> HardwareInfo:
        raise OSError("no /proc here")

    report = gather_diagnostics(DataPaths(isolated_home).ensure(), hardware=broken)
    assert "(could not gather: OSError: no /proc here)" in report
    assert "== Settings ==" in report and "== Versions ==" in report
    assert "== hearth.log (last lines) ==\n(empty)" in report


def test_clean_settings_drops_secret_keys_at_any_depth() -> None:
    data = {
        "hub": {"hf_token": "hf_x", "endpoint": "https://huggingface.co"},
        "server": {"api_key": "k", "port": 1234, "nested": [{"password": "p"}]},
    }
    cleaned = clean_settings(data)
    assert cleaned["hub"] == {"hf_token": "<removed>", "endpoint": "https://huggingface.co"}
    assert cleaned["server"]["api_key"] == "<removed>"
    assert cleaned["server"]["port"] == 1234
    assert cleaned["server"]["nested"] == [{"password": "<removed>"}]
