"""Desktop behaviour of the real window: icon, Help menu, first-run welcome, later launches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.backend.core import HearthCore
from app.backend.logging_setup import teardown_logging
from app.backend.settings import SettingsStore
from app.ui.app import HearthApp
from app.ui.desktop import DesktopIntegration, attach, claim_instance
from app.ui.single_instance import send_to_running

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")


@pytest.fixture
def desktop(qtbot: QtBot, isolated_home: Path) -> Iterator[DesktopIntegration]:
    core = HearthCore()
    instance = claim_instance(core.paths, [])
    assert instance is not None
    hearth = HearthApp(core)
    qtbot.addWidget(hearth.window)
    integration = attach(hearth, instance, handle_signals=False)
    hearth.window.show()
    yield integration
    if integration.welcome is not None:
        integration.welcome.close()
    instance.close()
    hearth.shutdown()
    hearth.window.deleteLater()
    teardown_logging()


def test_icon_help_menu_and_welcome_on_first_run(
    qtbot: QtBot, desktop: DesktopIntegration, isolated_home: Path
) -> None:
    window = desktop.hearth.window
    assert not window.windowIcon().isNull()
    menus = [a.text() for a in window.menuBar().actions()]
    assert "&Help" in menus
    desktop.after_show()
    qtbot.waitUntil(
        lambda: desktop.welcome is not None and desktop.welcome.isVisible(), timeout=2000
    )
    assert desktop.welcome is not None
    desktop.welcome.discover_button.click()
    assert window.current_section() == "Discover"
    stored = SettingsStore(isolated_home / "settings.json").load()
    assert stored.window.first_run_done
    # Geometry saving at shutdown keeps the flag.
    desktop.hearth.shutdown()
    assert SettingsStore(isolated_home / "settings.json").load().window.first_run_done


def test_welcome_is_not_shown_again(qtbot: QtBot, isolated_home: Path) -> None:
    SettingsStore(isolated_home / "settings.json").update(
        lambda s: setattr(s.window, "first_run_done", True)
    )
    core = HearthCore()
    hearth = HearthApp(core)
    qtbot.addWidget(hearth.window)
    integration = attach(hearth, None, handle_signals=False)
    try:
        hearth.window.show()
        integration.after_show()
        qtbot.wait(50)
        assert integration.welcome is None
    finally:
        hearth.shutdown()


def test_a_later_launch_raises_the_window_and_opens_its_model_file(
    qtbot: QtBot, desktop: DesktopIntegration, tmp_path: Path
) -> None:
    model = tmp_path / "elsewhere" / "mine.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF")
    window = desktop.hearth.window
    window.show_section("Settings")
    window.showMinimized()
    assert desktop.instance is not None
    with qtbot.waitSignal(desktop.instance.open_file, timeout=5000):
        assert send_to_running(desktop.instance.name, [str(model)])
    assert not window.isMinimized()
    assert window.current_section() == "Chat"
    notice = desktop.hearth.chat.notice
    assert notice.isVisible() and "mine.gguf" in notice.text()
    assert "Settings" in notice.text()


def test_model_file_inside_the_library_is_pointed_at(
    desktop: DesktopIntegration, isolated_home: Path
) -> None:
    model = isolated_home / "models" / "me" / "repo" / "x.gguf"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")
    desktop.open_model_file(str(model))
    assert "in your library" in desktop.hearth.chat.notice.text()
    desktop.open_model_file(str(model.with_name("gone.gguf")))
    assert "does not exist" in desktop.hearth.chat.notice.text()


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert proc.poll() is None, f"Hearth exited early with {proc.returncode}"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path} after {timeout} s")


def test_second_launch_of_the_real_app_hands_over_and_exits(isolated_home: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    log = isolated_home / "logs" / "hearth.log"
    first = subprocess.Popen([sys.executable, "-m", "app"], env=env, cwd=ROOT)
    try:
        _wait_for(log, "Window shown", first, 60)
        second = subprocess.run(
            [sys.executable, "-m", "app"], env=env, cwd=ROOT, timeout=60, capture_output=True
        )
        assert second.returncode == 0, second.stderr[-2000:]
        _wait_for(log, "Another launch asked for the window", first, 10)
        assert "Hearth is already running" in log.read_text()
        assert first.poll() is None
        first.terminate()  # SIGTERM quits through Qt: shutdown runs, geometry is saved
        assert first.wait(30) == 0
        assert "Quitting on signal SIGTERM" in log.read_text()
        assert SettingsStore(isolated_home / "settings.json").load().window.geometry_b64
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)
