"""The Help menu: copy diagnostics for a bug report, open the logs folder, about.

Why a dialog for diagnostics and not only the clipboard: the user should see what they are
about to paste into a public issue. Gathering it probes the hardware (imports llama.cpp, asks
NVML), so it runs on a worker thread; the report comes back through a queued signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import __version__


class DiagnosticsDialog(QDialog):
    """Shows the report that was just copied, so nothing is shared unseen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Diagnostics")
        self.resize(720, 520)
        self.label = QLabel("Gathering diagnostics…")
        self.label.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Diagnostics report")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy again", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def set_report(self, report: str) -> None:
        self.text.setPlainText(report)
        self.copy_button.setEnabled(True)
        self.copy()
        self.label.setText(
            "Copied to the clipboard. It holds versions, hardware, settings (no secrets) "
            "and the last log lines; paste it into your bug report."
        )

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


class HelpMenu(QObject):
    """Owns the Help menu's actions; ``gather`` builds the diagnostics text (any thread)."""

    report_ready = Signal(str)

    def __init__(self, window: QMainWindow, logs_dir: Path, gather: Callable[[], str]) -> None:
        super().__init__(window)
        self.window = window
        self.logs_dir = Path(logs_dir)
        self._gather = gather
        self._worker: threading.Thread | None = None
        self.dialog: DiagnosticsDialog | None = None
        self.report_ready.connect(self._on_report)

        self.menu: QMenu = window.menuBar().addMenu("&Help")
        self.copy_action = QAction("Copy &diagnostics", self.menu)
        self.copy_action.setToolTip("Copy versions, hardware, settings and recent logs")
        self.copy_action.triggered.connect(self.copy_diagnostics)
        self.logs_action = QAction("Open &logs folder", self.menu)
        self.logs_action.triggered.connect(self.open_logs)
        self.about_action = QAction("&About Hearth", self.menu)
        self.about_action.triggered.connect(self.about)
        self.menu.addAction(self.copy_action)
        self.menu.addAction(self.logs_action)
        self.menu.addSeparator()
        self.menu.addAction(self.about_action)

    @Slot()
    def copy_diagnostics(self) -> None:
        if self.dialog is None:
            self.dialog = DiagnosticsDialog(self.window)
        self.dialog.show()
        self.dialog.activateWindow()
        if self._worker is not None and self._worker.is_alive():
            return
        gather, ready = self._gather, self.report_ready

        def work() -> None:
            try:
                report = gather()
            except Exception as exc:  # the menu must never take the app down
                report = f"Could not gather diagnostics: {type(exc).__name__}: {exc}"
            ready.emit(report)

        self._worker = threading.Thread(target=work, name="diagnostics", daemon=True)
        self._worker.start()

    @Slot(str)
    def _on_report(self, report: str) -> None:
        if self.dialog is not None:
            self.dialog.set_report(report)

    @Slot()
    def open_logs(self) -> bool:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.logs_dir)))

    @Slot()
    def about(self) -> None:
        QMessageBox.about(
            self.window,
            "About Hearth",
            f"<b>Hearth {__version__}</b><br>Run language models privately on your own "
            "computer, with llama.cpp.<br><br>"
            f"Logs: {self.logs_dir}",
        )


def install_help_menu(window: QMainWindow, logs_dir: Path, gather: Callable[[], str]) -> HelpMenu:
    """Add the Help menu to ``window``'s menu bar."""
    return HelpMenu(window, logs_dir, gather)
