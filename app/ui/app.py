"""Assembling the window: backend core, bridge thread, pages; and a clean shutdown."""

from __future__ import annotations

import sys

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget

from app.backend.core import HearthCore
from app.ui.bridge import Bridge
from app.ui.chat.page import ChatPage
from app.ui.main_window import MainWindow
from app.ui.pages.coming_soon import ComingSoonPage

PLACEHOLDERS = {
    "Discover": "Search the Hugging Face Hub for GGUF models, see what fits your machine, "
    "and download them with verified, resumable downloads.",
    "My Models": "Manage the models on disk: details, import, delete.",
    "Hardware": "Your CPU, memory and GPUs, live usage, and what each model will fit.",
    "Server": "A local OpenAI-, Anthropic- and Ollama-compatible API for your other tools.",
    "Settings": "Model folders, theme, and default load and sampling parameters.",
}


class HearthApp:
    """Owns the window, the bridge and its thread for one run of the GUI."""

    def __init__(self, core: HearthCore) -> None:
        self.core = core
        self.bridge = Bridge(core)
        self.thread = QThread()
        self.thread.setObjectName("hearth-bridge")
        self.bridge.moveToThread(self.thread)
        self.chat = ChatPage()
        self.chat.connect_bridge(self.bridge)
        pages: dict[str, QWidget] = {"Chat": self.chat}
        for name, what in PLACEHOLDERS.items():
            pages[name] = ComingSoonPage(name, what)
        self.window = MainWindow(pages)
        self.window.restore_geometry_b64(core.settings.window.geometry_b64)
        self.thread.start()
        self.chat.start()
        self._closed = False

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._save_window_state()
        self.thread.quit()
        self.thread.wait(10_000)
        self.bridge.shutdown()

    def _save_window_state(self) -> None:
        geometry = self.window.geometry_b64()

        def remember(settings):  # type: ignore[no-untyped-def]
            settings.window.geometry_b64 = geometry
            settings.window.maximized = self.window.isMaximized()

        try:
            self.core.settings_store.update(remember)
        except Exception as exc:  # noqa: BLE001 - never lose the exit over window geometry
            print(f"hearth: could not save the window state: {exc}", file=sys.stderr)


def run_gui() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    hearth = HearthApp(HearthCore())
    hearth.window.show()
    try:
        return int(app.exec())
    finally:
        hearth.shutdown()
