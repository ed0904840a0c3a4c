"""Help menu: diagnostics gathered off the UI thread, shown and copied; logs folder; about."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from app.ui.help_menu import install_help_menu


def _window(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    return window


def test_menu_has_the_actions(qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(qtbot)
    help_menu = install_help_menu(window, tmp_path / "logs", lambda: "report")
    titles = [a.text() for a in help_menu.menu.actions() if a.text()]
    assert titles == ["Copy &diagnostics", "Open &logs folder", "&About Hearth"]
    assert help_menu.menu.title() == "&Help"


def test_copy_diagnostics_runs_off_the_ui_thread_then_copies(qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(qtbot)
    release = threading.Event()
    seen: list[str] = []

    def gather() -> str:
        seen.append(threading.current_thread().name)
        assert release.wait(10)
        return "Hearth diagnostics\n== Versions ==\nHearth: 0.1.0"

    help_menu = install_help_menu(window, tmp_path / "logs", gather)
    QGuiApplication.clipboard().setText("before")
    help_menu.copy_action.trigger()
    qtbot.wait(50)
    assert help_menu.dialog is not None and help_menu.dialog.isVisible()
    assert "Gathering" in help_menu.dialog.label.text()
    assert QGuiApplication.clipboard().text() == "before"
    # Not waitSignal: report_ready is emitted from the worker thread, and pytest-qt's blocker
    # would stop its timer from there (a Qt warning). Wait for what the user gets instead.
    release.set()
    qtbot.waitUntil(
        lambda: QGuiApplication.clipboard().text().startswith("Hearth diagnostics"), timeout=5000
    )
    assert seen == ["diagnostics"]
    assert QGuiApplication.clipboard().text().startswith("Hearth diagnostics")
    assert "Copied to the clipboard" in help_menu.dialog.label.text()
    assert help_menu.dialog.text.toPlainText().endswith("Hearth: 0.1.0")


def test_a_failing_gather_is_reported_not_raised(qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(qtbot)

    def broken() -> str:
        raise RuntimeError("boom")

    help_menu = install_help_menu(window, tmp_path / "logs", broken)
    help_menu.copy_diagnostics()
    qtbot.waitUntil(
        lambda: (
            help_menu.dialog is not None
            and "RuntimeError: boom" in help_menu.dialog.text.toPlainText()
        ),
        timeout=5000,
    )


def test_open_logs_folder_opens_the_data_roots_logs(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_open(url):  # type: ignore[no-untyped-def]
        opened.append(url.toLocalFile())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(fake_open))
    window = _window(qtbot)
    logs = tmp_path / "logs"
    help_menu = install_help_menu(window, logs, lambda: "")
    help_menu.logs_action.trigger()
    assert opened == [str(logs)]
    assert logs.is_dir()
