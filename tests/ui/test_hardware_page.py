"""Hardware page: fake data in, labels/graphs out; a screenshot for eyeballing."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.backend.hardware import HardwareMonitor, detect_hardware
from app.backend.hardware.types import (
    GpuSample,
    HardwareInfo,
    HardwareSnapshot,
    LlamaBackendInfo,
    LoadedModelInfo,
)
from app.ui.pages.hardware import HardwarePage
from app.ui.pages.sparkline import Sparkline
from tests.helpers.fake_nvml import FakeNvml, GiB, two_gpus

CUDA = LlamaBackendInfo(True, "CUDA", True, "CUDA : ARCHS = 890 | CPU : AVX2 = 1", "0.3.36")


def info_two_gpus() -> HardwareInfo:
    return detect_hardware(two_gpus(), llama=CUDA)


def snapshot(i: int, gpus: bool = True) -> HardwareSnapshot:
    wave = (i % 20) / 20
    return HardwareSnapshot(
        timestamp=1000.0 + i,
        cpu_percent=20 + 60 * wave,
        ram_used_bytes=int((9 + 4 * wave) * GiB),
        ram_available_bytes=int((23 - 4 * wave) * GiB),
        ram_total_bytes=32 * GiB,
        per_core_percent=(10.0,) * 16,
        gpus=(
            GpuSample(0, 40 + 50 * wave, int((14 + 4 * wave) * GiB), 24 * GiB, 180 + 120 * wave, 61),  # noqa: E501
            GpuSample(1, 10 + 20 * wave, int(5.5 * GiB), 8 * GiB, None, 48),
        )
        if gpus
        else (),
        process_rss_bytes={4242: int(3.2 * GiB)},
    )  # fmt: skip


MODELS = [
    LoadedModelInfo("Llama 3.1 8B Instruct Q4_K_M", 32, 33, 16384, "f16", "f16", 6 * GiB, GiB // 3),
    LoadedModelInfo("Qwen2.5 32B Instruct Q4_K_M", 64, 40, 8192, "q8_0", "q8_0", 13 * GiB, 8 * GiB),
    LoadedModelInfo("Gemma 3 270M", 18, 0, 32768, "f16", "f16", 0, 780 * 1024**2),
]  # fmt: skip


@pytest.fixture
def page(qtbot) -> HardwarePage:  # type: ignore[no-untyped-def]
    w = HardwarePage()
    qtbot.addWidget(w)
    w.resize(1100, 1050)
    return w


def test_static_info_two_gpus(page: HardwarePage) -> None:
    page.show_static_info(info_two_gpus())
    assert page.backend_label.text().startswith("CUDA build 0.3.36")
    assert page.gpu_list.count() == 2
    assert "550.54.14" in page.gpu_notice.text()


def test_no_gpu_message(page: HardwarePage) -> None:
    page.show_static_info(detect_hardware(FakeNvml.driver_missing(), probe_llama=False))
    assert page.gpu_notice.text() == (
        "No supported GPU found: NVIDIA driver not installed (libnvidia-ml.so.1 missing)"
    )
    assert page.gpu_list.count() == 0


def test_snapshots_feed_graphs_and_keep_a_minute(page: HardwarePage) -> None:
    page.show_static_info(info_two_gpus())
    for i in range(75):
        page.show_snapshot(snapshot(i))
    assert len(page.cpu_tile.graph.values()) == 60
    _util0, vram0, power0 = page._gpu_tiles[0]
    assert len(vram0.graph.values()) == 60
    assert page._gpu_tiles[1][2].value.text() == "n/a"  # power not reported
    assert power0.value.text().endswith(" W")
    assert page.engine_tile.value.text() == "3.2 GiB"
    assert page._gpu_tiles[1][2].graph.values() == []  # no false zeros for missing power
    assert page.cpu_tile.graph.accessibleName() == "CPU history"
    assert page.cpu_tile.graph.accessibleDescription().startswith("CPU history: ")


def test_snapshot_without_gpus_has_no_gpu_tiles(page: HardwarePage) -> None:
    page.show_snapshot(snapshot(0, gpus=False))
    assert page._gpu_tiles == {}


def test_loaded_models_table(page: HardwarePage) -> None:
    page.show_loaded_models(MODELS)
    t = page.models_table
    assert t.rowCount() == 3 and not t.isHidden() and page.models_empty.isHidden()
    assert t.item(0, 1).text() == "GPU · all 32 layers + output"
    assert t.item(1, 1).text() == "GPU 40 / CPU 24 layers"
    assert t.item(2, 1).text() == "CPU · 18 layers"
    assert t.item(1, 3).text() == "q8_0"
    page.show_loaded_models([])
    assert t.isHidden() and not page.models_empty.isHidden()


def test_real_monitor_snapshot_renders(page: HardwarePage) -> None:
    page.show_static_info(detect_hardware(probe_llama=False))
    with HardwareMonitor() as mon:
        page.show_snapshot(mon.sample([os.getpid()]))
    assert page.cpu_tile.value.text().endswith("%")


def test_sparkline_paints_in_both_palettes(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.ui.theme import DARK, LIGHT, build_palette

    line = Sparkline("test", maximum=10)
    qtbot.addWidget(line)
    for v in (1, 5, 3, 9, 20):
        line.add(v)
    line.resize(200, 50)
    for colors in (LIGHT, DARK):
        line.setPalette(build_palette(colors))
        assert not line.grab().isNull()


def test_screenshot(page: HardwarePage, tmp_path: Path) -> None:
    from app.ui.theme import DARK, LIGHT, build_palette

    page.show_static_info(info_two_gpus())
    for i in range(60):
        page.show_snapshot(snapshot(i))
    page.show_loaded_models(MODELS)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    original = app.palette()
    try:
        for colors in (LIGHT, DARK):  # the theme module switches the app palette like this
            app.setPalette(build_palette(colors))
            QApplication.processEvents()
            shots = Path(os.environ.get("HEARTH_SHOT_DIR", tmp_path))
            assert page.grab().save(str(shots / f"hardware_page_{colors.name}.png"))
    finally:
        app.setPalette(original)


def test_show_error_then_cleared_by_snapshot(page: HardwarePage) -> None:
    page.show_error("Could not read hardware usage: boom")
    assert not page.gpu_error.isHidden() and "boom" in page.gpu_error.text()
    page.show_snapshot(snapshot(0, gpus=False))
    assert page.gpu_error.isHidden()
