"""What makes the window behave like a desktop app: one instance, logs, icon, Help, welcome.

``run_gui`` calls ``claim_instance`` before building anything (a second launch only hands over
its arguments and exits) and ``attach`` once the window exists. Kept out of ``app.py`` so the
wiring there stays two lines.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from app.backend.diagnostics import gather_diagnostics
from app.backend.logging_setup import setup_logging
from app.backend.paths import DataPaths
from app.backend.settings import Settings
from app.backend.starter import STARTER_PACKAGE, install_starter, starter_path
from app.ui.app_icon import app_icon
from app.ui.help_menu import HelpMenu, install_help_menu
from app.ui.single_instance import (
    SingleInstance,
    bring_to_front,
    model_files,
    send_to_running,
    server_name,
)
from app.ui.welcome import WelcomeDialog

if TYPE_CHECKING:
    from app.ui.app import HearthApp

log = logging.getLogger(__name__)


def claim_instance(paths: DataPaths, args: Sequence[str]) -> SingleInstance | None:
    """Become the running instance, or hand ``args`` to the one already running (None).

    Also starts the log, so even a hand-over leaves a line behind.
    """
    setup_logging(paths.logs)
    name = server_name(paths.root)
    if send_to_running(name, list(args)):
        log.info("Hearth is already running: handed over %s", list(args) or "a launch")
        return None
    instance = SingleInstance(name)
    if not instance.listen():
        # Another instance appeared in the same instant: hand over to it instead.
        if send_to_running(name, list(args)):
            return None
        log.warning("Could not listen for later launches; continuing as a lone instance")
    return instance


def process_age_s() -> float | None:
    """Seconds since this process started, for the launch-to-window time in the log.

    On Linux from ``/proc/self/stat`` against the boot-time clock (10 ms precision; psutil's
    wall-clock start time can be off by up to a second); elsewhere through psutil.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return time.time() - float(psutil.Process().create_time())
    except Exception:
        return None


class DesktopIntegration(QObject):
    """Connects the single instance, the Help menu and the first-run welcome to one app."""

    def __init__(
        self,
        hearth: HearthApp,
        instance: SingleInstance | None,
        open_files: Sequence[str] = (),
    ) -> None:
        super().__init__(hearth.window)
        self.hearth = hearth
        self.paths = hearth.core.paths
        self.instance = instance
        self.welcome: WelcomeDialog | None = None
        window = hearth.window
        window.setWindowIcon(app_icon())
        self.help_menu: HelpMenu = install_help_menu(window, self.paths.logs, self._gather)
        if instance is not None:
            instance.setParent(self)
            app = QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(instance.close)  # removes the socket file
            instance.activated.connect(self._on_activated)
            instance.open_file.connect(self.open_model_file)
        self._pending_files = model_files(list(open_files))

    def _gather(self) -> str:
        return gather_diagnostics(self.paths, settings=self.hearth.core.settings)

    def after_show(self) -> None:
        """Run once the window is on screen: timing, files from the command line, welcome."""
        age = process_age_s()
        if age is not None:
            log.info("Window shown %.0f ms after launch", age * 1000)
        for path in self._pending_files:
            self.open_model_file(path)
        self._pending_files = []
        if not self.hearth.core.settings.window.first_run_done:
            QTimer.singleShot(0, self.show_welcome)

    # ------------------------------------------------------------------ welcome
    @Slot()
    def show_welcome(self) -> WelcomeDialog:
        models = self.paths.models
        available = importlib.util.find_spec(STARTER_PACKAGE.replace("-", "_")) is not None
        dialog = WelcomeDialog(
            (lambda: install_starter(models)) if available else None,
            starter_present=starter_path(models).exists(),
            parent=self.hearth.window,
        )
        dialog.starter_installed.connect(self._on_starter_installed)
        dialog.discover_requested.connect(lambda: self.hearth.window.show_section("Discover"))
        dialog.finished.connect(self._on_welcome_closed)
        self.welcome = dialog
        dialog.show()
        return dialog

    @Slot(str)
    def _on_starter_installed(self, path: str) -> None:
        log.info("Starter model installed at %s", path)
        self.hearth.chat.list_models.emit()

    @Slot(int)
    def _on_welcome_closed(self, _result: int) -> None:
        self.hearth.core.settings.window.first_run_done = True

        def remember(settings: Settings) -> None:
            settings.window.first_run_done = True

        try:
            self.hearth.core.settings_store.update(remember)
        except Exception as exc:  # worst case the welcome shows again next time
            log.warning("Could not record that the welcome was shown: %s", exc)

    # ------------------------------------------------------------------ later launches
    @Slot(object)
    def _on_activated(self, args: object) -> None:
        log.info("Another launch asked for the window (%s)", args)
        bring_to_front(self.hearth.window)

    @Slot(str)
    def open_model_file(self, path: str) -> None:
        """A .gguf Hearth was opened with: show Chat and say where it stands."""
        window = self.hearth.window
        window.show_section("Chat")
        bring_to_front(window)
        file = Path(path)
        if not file.is_file():
            self.hearth.chat.show_notice(f"Could not open {file.name}: the file does not exist.")
            return
        log.info("Asked to open model file %s", file)
        folders = [p.resolve() for p in self.hearth.core.model_folders()]
        if any(file.resolve().is_relative_to(folder) for folder in folders):
            self.hearth.chat.list_models.emit()
            self.hearth.chat.show_notice(
                f"{file.name} is in your library: pick it at the top and press Load."
            )
        else:
            self.hearth.chat.show_notice(
                f"Opened {file.name}. To use it, move it into {self.paths.models} or add "
                f"its folder ({file.parent}) under Settings → Models."
            )


def quit_on_termination_signals(app: QApplication) -> None:
    """SIGTERM (logout, ``kill``) and Ctrl+C quit through Qt, so shutdown still runs.

    Python only runs signal handlers between bytecodes, and a Qt event loop sits in C++; a
    slow timer gives the interpreter a turn. The handler then asks Qt to quit normally:
    window geometry is saved and engine processes are stopped.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def request_quit(signum: int, _frame: object) -> None:
        log.info("Quitting on signal %s", signal.Signals(signum).name)
        QTimer.singleShot(0, app.quit)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_quit)
    ticker = QTimer(app)
    ticker.setObjectName("hearth-signal-ticker")
    ticker.timeout.connect(lambda: None)
    ticker.start(500)


def attach(
    hearth: HearthApp, instance: SingleInstance | None, *, handle_signals: bool = True
) -> DesktopIntegration:
    """Wire desktop behaviour into a built app; call ``after_show`` after ``window.show()``.

    ``handle_signals=False`` leaves SIGTERM/SIGINT alone (tests embedding the window).
    """
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setWindowIcon(app_icon())
        app.setDesktopFileName("hearth")
        if handle_signals:
            quit_on_termination_signals(app)
            app.aboutToQuit.connect(lambda: log.info("Hearth is quitting"))
    return DesktopIntegration(hearth, instance, QApplication.arguments()[1:])
