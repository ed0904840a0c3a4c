"""Main window: sections, shortcuts, honest placeholders, geometry; model bar pills; the
hardware poller (only while visible, off the UI thread, stopped cleanly)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.backend.core import HearthCore
from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState, ModelInfo
from app.backend.hardware import (
    CpuInfo,
    GpuStatus,
    HardwareInfo,
    HardwareSnapshot,
    LlamaBackendInfo,
    LoadedModelInfo,
    RamInfo,
)
from app.ui.app import HearthApp
from app.ui.chat.model_bar import ModelBar
from app.ui.main_window import SECTIONS
from app.ui.pages.coming_soon import ComingSoonPage
from app.ui.pages.hardware_controller import HardwareController


@pytest.fixture
def hearth(qtbot) -> Iterator[HearthApp]:
    app = HearthApp(HearthCore())
    qtbot.addWidget(app.window)
    app.window.show()
    qtbot.waitExposed(app.window)
    app.window.activateWindow()
    yield app
    app.shutdown()
    app.window.deleteLater()  # windows left alive slow down every later test


def _press(qtbot, hearth: HearthApp, keys: str) -> None:
    hearth.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is hearth.window, timeout=2000)
    QTest.keySequence(hearth.window, QKeySequence(keys))


# ------------------------------------------------------------------- window
def test_all_six_sections_are_listed_in_order(hearth: HearthApp) -> None:
    sidebar = hearth.window.sidebar
    assert sidebar.count() == len(SECTIONS) == 7
    for row, section in enumerate(SECTIONS):
        item = sidebar.item(row)
        assert item.text() == section and not item.icon().isNull()
        assert item.data(Qt.ItemDataRole.AccessibleTextRole) == section
    assert hearth.window.current_section() == "Chat"
    for section in SECTIONS:
        hearth.window.show_section(section)
        assert hearth.window.stack.currentWidget() is hearth.window.pages[section]


@pytest.mark.parametrize(
    ("keys", "section"),
    [
        ("Ctrl+2", "Discover"),
        ("Ctrl+3", "My Models"),
        ("Ctrl+Shift+H", "Hardware"),
        ("Ctrl+4", "Server"),
        ("Ctrl+,", "Settings"),
    ],
)
def test_shortcuts_switch_sections(qtbot, hearth: HearthApp, keys: str, section: str) -> None:
    _press(qtbot, hearth, keys)
    qtbot.waitUntil(lambda: hearth.window.current_section() == section, timeout=1000)
    _press(qtbot, hearth, "Ctrl+1")
    qtbot.waitUntil(lambda: hearth.window.current_section() == "Chat", timeout=1000)


def test_ctrl_n_starts_a_new_chat_and_ctrl_l_focuses_the_picker(qtbot, hearth: HearthApp) -> None:
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=5000)
    hearth.window.show_section("Settings")
    with qtbot.waitSignal(hearth.chat.new_conversation, timeout=1000):
        _press(qtbot, hearth, "Ctrl+N")
    assert hearth.window.current_section() == "Chat"
    hearth.window.show_section("Discover")
    _press(qtbot, hearth, "Ctrl+L")
    assert hearth.window.current_section() == "Chat"
    qtbot.waitUntil(lambda: hearth.chat.model_bar.picker.hasFocus(), timeout=1000)


def test_the_server_section_is_the_real_server_page(hearth: HearthApp) -> None:
    page = hearth.window.pages["Server"]
    assert page is hearth.server_page and not isinstance(page, ComingSoonPage)


def test_settings_and_hardware_are_real_pages(hearth: HearthApp) -> None:
    assert hearth.window.pages["Settings"] is hearth.settings_page
    if hearth.hardware is not None:  # the Hardware page module is present
        assert not isinstance(hearth.window.pages["Hardware"], ComingSoonPage)


def test_controls_have_accessible_names(hearth: HearthApp) -> None:
    bar = hearth.chat.model_bar
    widgets: list[QWidget] = [
        bar.picker,
        bar.load_button,
        bar.eject_button,
        bar.state_label,
        hearth.chat.composer.input,
        hearth.chat.composer.send_button,
        hearth.chat.composer.stop_button,
        hearth.chat.conversations.new_button,
        hearth.window.sidebar,
        hearth.settings_page.save_button,
    ]
    for widget in widgets:
        assert widget.accessibleName(), widget


def test_geometry_is_saved_and_restored(qtbot, isolated_home: Path) -> None:
    first = HearthApp(HearthCore())
    qtbot.addWidget(first.window)
    first.window.show()
    # Small enough for the offscreen platform's 800x600 screen (restore clamps to the screen).
    first.window.setGeometry(30, 40, 760, 520)
    qtbot.waitUntil(lambda: first.window.width() == 760, timeout=1000)
    first.shutdown()

    second = HearthApp(HearthCore())
    qtbot.addWidget(second.window)
    try:
        assert second.core.settings.window.geometry_b64
        geometry = second.window.geometry()
        assert (geometry.x(), geometry.y(), geometry.width(), geometry.height()) == (
            30,
            40,
            760,
            520,
        )
    finally:
        second.shutdown()


def test_window_survives_a_garbage_geometry(qtbot, isolated_home: Path) -> None:
    core = HearthCore()
    core.settings_store.update(lambda s: setattr(s.window, "geometry_b64", "bm90IGdlb21ldHJ5"))
    hearth = HearthApp(HearthCore())
    qtbot.addWidget(hearth.window)
    try:
        assert hearth.window.width() >= 720  # a usable default size is kept
    finally:
        hearth.shutdown()


# ------------------------------------------------------------------ model bar
def test_state_pill_stays_on_one_line_with_details_in_tooltip(qtbot) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    long_error = "Could not load broken.gguf: " + "tensor data is truncated " * 10
    bar.set_status(EngineStatus(EngineState.ERROR, Path("broken.gguf"), None, long_error))
    assert not bar.state_label.wordWrap()
    assert "Error" in bar.state_label.text() and len(bar.state_label.text()) < 20
    assert bar.state_label.toolTip() == long_error
    bar.set_status(EngineStatus(EngineState.LOADING, Path("m.gguf")))
    bar.set_progress(0.42)
    assert bar.state_label.text() == "Loading 42%"
    assert bar.load_button.text() == "Cancel"
    bar.set_prompt_mode("completion", "the model has no chat template")
    assert bar.mode_label.text() == "Completion mode"
    assert bar.mode_label.toolTip() == "the model has no chat template"


def test_no_models_card_says_how_to_get_one(qtbot, tmp_path: Path) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.set_models_folder(tmp_path / "models")
    bar.set_models([])
    assert bar.empty_card.isVisible()
    assert "make setup" in bar.empty_help.text()
    assert str(tmp_path / "models") in bar.empty_help.text()
    with qtbot.waitSignal(bar.refresh_requested, timeout=500):
        bar.refresh_button.click()


# ------------------------------------------------------------- hardware poll
class FakePage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[HardwareSnapshot] = []
        self.infos: list[HardwareInfo] = []
        self.models: list[list[LoadedModelInfo]] = []
        self.sample_threads: list[int] = []

    def show_snapshot(self, snapshot: HardwareSnapshot) -> None:
        self.snapshots.append(snapshot)

    def show_static_info(self, info: HardwareInfo) -> None:
        self.infos.append(info)

    def show_loaded_models(self, models: list[LoadedModelInfo]) -> None:
        self.models.append(list(models))


class FakeMonitor:
    def __init__(self, threads: list[int]) -> None:
        self.threads = threads
        self.closed = False
        self.pids: list[tuple[int, ...]] = []

    def sample(self, pids: tuple[int, ...] = ()) -> HardwareSnapshot:
        self.threads.append(threading.get_ident())
        self.pids.append(tuple(pids))
        return HardwareSnapshot(0.0, 12.5, 1, 2, 3, process_rss_bytes={p: 10 for p in pids})

    def close(self) -> None:
        self.closed = True


def _model_info() -> ModelInfo:
    return ModelInfo(
        path="/models/m-Q4_K_M.gguf",
        architecture="gemma3",
        n_ctx=2048,
        n_ctx_train=32768,
        n_params=270_000_000,
        n_layers=18,
        n_gpu_layers=0,
        bos_token="<bos>",
        eos_token="<eos>",
        chat_template=None,
        load_time_s=0.5,
    )


def _info() -> HardwareInfo:
    return HardwareInfo(
        CpuInfo("Test CPU", 4, 8, ("AVX2",), "x86_64"),
        RamInfo(16 << 30, 8 << 30),
        GpuStatus(False, reason="No GPU in this test"),
        LlamaBackendInfo(False, "unknown", False, reason="not probed"),
    )


@pytest.fixture
def controllers() -> Iterator[list[HardwareController]]:
    """Stops every controller a test made, even when the test fails half-way."""
    made: list[HardwareController] = []
    yield made
    for controller in made:
        controller.stop()


def test_hardware_controller_polls_only_while_visible_and_stops_cleanly(
    qtbot, controllers: list[HardwareController]
) -> None:
    baseline = threading.active_count()
    page = FakePage()
    qtbot.addWidget(page)
    threads: list[int] = []
    monitors: list[FakeMonitor] = []

    def factory() -> FakeMonitor:
        monitors.append(FakeMonitor(threads))
        return monitors[-1]

    status = EngineStatus(EngineState.READY, Path("/models/m-Q4_K_M.gguf"), _model_info())
    controller = HardwareController(
        page,
        lambda: (status, 4242),
        interval_ms=20,
        monitor_factory=factory,  # type: ignore[arg-type]
        detect=_info,
    )
    controllers.append(controller)
    assert not controller.polling and controller.worker_thread is None  # hidden: no cost

    page.show()
    qtbot.waitUntil(lambda: len(page.snapshots) >= 3 and bool(page.infos), timeout=2000)
    assert controller.polling
    assert len(page.infos) == 1  # detected once
    assert set(threads) and threading.get_ident() not in threads  # sampled off the UI thread
    assert monitors[0].pids[-1] == (4242,)  # the engine's pid is watched for its RSS
    (model,) = page.models[-1]
    assert (model.name, model.n_layers, model.gpu_layers, model.n_ctx) == ("m-Q4_K_M", 18, 0, 2048)
    assert model.cpu_bytes == 10 and model.pid == 4242  # the engine's RSS as sampled

    page.hide()
    assert not controller.polling
    qtbot.wait(50)  # let a sample already in flight land
    count = len(page.snapshots)
    qtbot.wait(150)
    assert len(page.snapshots) == count  # nothing sampled while hidden

    page.show()
    qtbot.waitUntil(lambda: len(page.snapshots) > count, timeout=2000)
    assert len(page.infos) == 1  # not detected again

    thread = controller.worker_thread
    assert isinstance(thread, QThread)
    assert controller.stop()
    assert thread.isFinished()
    assert monitors[0].closed
    assert not controller.polling
    page.hide()
    page.show()
    assert not controller.polling  # stopped for good
    qtbot.waitUntil(lambda: threading.active_count() <= baseline, timeout=1000)


def test_hardware_controller_reports_a_failing_monitor(
    qtbot, controllers: list[HardwareController]
) -> None:
    page = FakePage()
    errors: list[str] = []
    page.show_error = errors.append  # type: ignore[attr-defined]
    qtbot.addWidget(page)

    def broken() -> FakeMonitor:
        raise RuntimeError("psutil exploded")

    controller = HardwareController(
        page,
        lambda: (EngineStatus(EngineState.EMPTY), None),
        interval_ms=20,
        monitor_factory=broken,  # type: ignore[arg-type]
        detect=_info,
    )
    controllers.append(controller)
    page.show()
    qtbot.waitUntil(lambda: len(errors) >= 2, timeout=2000)  # keeps trying, page alive
    assert "psutil exploded" in errors[0]
    assert controller.stop()


def test_app_polls_hardware_only_on_the_hardware_section(
    qtbot, hearth: HearthApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hearth.hardware is None:
        pytest.skip("the Hardware page module is not present yet")
    import app.ui.pages.hardware_controller as hc

    monkeypatch.setattr(hc, "detect_hardware", _info)  # skip importing llama.cpp here
    controller = hearth.hardware
    assert not controller.polling
    _press(qtbot, hearth, "Ctrl+Shift+H")
    qtbot.waitUntil(lambda: controller.polling, timeout=1000)
    _press(qtbot, hearth, "Ctrl+1")
    qtbot.waitUntil(lambda: not controller.polling, timeout=1000)
    thread = controller.worker_thread
    hearth.shutdown()
    assert thread is not None and thread.isFinished()
