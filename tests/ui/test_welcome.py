"""The first-run welcome: sections explained, starter installed off the UI thread, Discover."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.ui.welcome import SECTION_HELP, WelcomeDialog


def _texts(dialog: WelcomeDialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_explains_every_section_and_offers_the_starter(qtbot: QtBot) -> None:
    dialog = WelcomeDialog(lambda: Path("/x.gguf"))
    qtbot.addWidget(dialog)
    dialog.show()
    text = _texts(dialog)
    for name, _what in SECTION_HELP:
        assert f"<b>{name}</b>" in text
    assert "Gemma 3 270M" in text and "Discover" in text
    assert dialog.install_button.isEnabled()
    assert not dialog.isModal()


def test_install_runs_off_the_ui_thread_and_reports_back(qtbot: QtBot) -> None:
    release = threading.Event()
    threads: list[str] = []

    def slow_install() -> Path:
        threads.append(threading.current_thread().name)
        assert release.wait(10)
        return Path("/models/google/gemma-3-270m/gemma-3-270m-Q4_K_M.gguf")

    dialog = WelcomeDialog(slow_install)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    # The UI keeps running while the install is blocked.
    qtbot.wait(50)
    assert dialog.installing
    assert not dialog.install_button.isEnabled()
    assert dialog.progress.isVisible()
    with qtbot.waitSignal(dialog.starter_installed, timeout=5000) as installed:
        release.set()
    assert installed.args == ["/models/google/gemma-3-270m/gemma-3-270m-Q4_K_M.gguf"]
    assert threads == ["starter-install"]
    assert "Installed" in dialog.status.text()
    assert not dialog.progress.isVisible()
    assert not dialog.install_button.isEnabled()


def test_a_failed_install_says_why_and_can_be_retried(qtbot: QtBot) -> None:
    calls = []

    def failing() -> Path:
        calls.append(1)
        raise OSError("No space left on device")

    dialog = WelcomeDialog(failing)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start_install()
    qtbot.waitUntil(lambda: "No space left" in dialog.status.text(), timeout=5000)
    assert dialog.install_button.isEnabled()
    assert dialog.install_button.text() == "Try again"
    dialog.start_install()
    qtbot.waitUntil(lambda: len(calls) == 2 and dialog.install_button.isEnabled(), timeout=5000)


def test_starter_already_present_or_unavailable(qtbot: QtBot) -> None:
    present = WelcomeDialog(lambda: Path("/x"), starter_present=True)
    qtbot.addWidget(present)
    assert not present.install_button.isEnabled()
    assert "installed" in present.status.text()
    missing = WelcomeDialog(None)
    qtbot.addWidget(missing)
    assert not missing.install_button.isEnabled()
    assert "not part of this installation" in missing.status.text()


def test_discover_button_asks_for_discover_and_closes(qtbot: QtBot) -> None:
    dialog = WelcomeDialog(lambda: Path("/x"))
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.discover_requested, timeout=1000):
        dialog.discover_button.click()
    assert not dialog.isVisible()


@pytest.mark.starter
def test_installs_the_real_starter_into_the_library(qtbot: QtBot, isolated_home: Path) -> None:
    from app.backend.starter import install_starter, starter_path

    models = isolated_home / "models"
    dialog = WelcomeDialog(lambda: install_starter(models))
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(dialog.starter_installed, timeout=60_000):
            dialog.start_install()
    except Exception:
        if "not installed" in dialog.status.text():
            pytest.skip(dialog.status.text())
        raise
    assert starter_path(models).stat().st_size > 200_000_000
