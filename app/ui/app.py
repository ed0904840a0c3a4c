"""Assembling the window: backend core, bridge thread, pages, theme; and a clean shutdown."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, Qt, QThread
from PySide6.QtWidgets import QApplication, QWidget

from app.backend.core import HearthCore
from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState
from app.backend.settings import Settings
from app.ui.bridge import Bridge
from app.ui.chat.page import ChatPage
from app.ui.chat_bridge.remote_chat import RemoteChoices
from app.ui.main_window import GLYPHS, MainWindow
from app.ui.models_bridge import ModelsBridge
from app.ui.pages.coming_soon import ComingSoonPage
from app.ui.pages.discover import DiscoverPage
from app.ui.pages.downloads import DownloadsButton, DownloadsPanel
from app.ui.pages.hardware_controller import HardwareController
from app.ui.pages.my_models import MyModelsPage
from app.ui.pages.remotes import RemotesDialog
from app.ui.pages.server import ServerPage
from app.ui.pages.settings import SettingsPage
from app.ui.pages.usage import UsagePage
from app.ui.privacy_badge import LocalOnlyBadge
from app.ui.server_bridge import ServerBridge
from app.ui.theme import ThemeManager
from app.ui.usage_bridge import RemotesView, UsageBridge

PLACEHOLDERS: dict[str, str] = {}
HARDWARE_WHAT = "Your CPU, memory and GPUs, live usage, and what each model will fit."


class HearthApp(QObject):
    """Owns the window, the bridge and its thread for one run of the GUI.

    A QObject so that signals from the bridges' worker threads reach its methods on the
    UI thread (queued): connected to a plain object's method, Qt would run them on the
    emitting worker thread, where they touched widgets (a crash seen in the tests).
    """

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        app = QApplication.instance()
        assert isinstance(app, QApplication), "create the QApplication first"
        self.theme = ThemeManager(app)
        self.theme.apply(core.settings.appearance.theme, core.settings.appearance.font_size)

        self.bridge = Bridge(core)
        self.bridge_thread = QThread()
        self.bridge_thread.setObjectName("hearth-bridge")
        self.bridge.moveToThread(self.bridge_thread)
        self.chat = ChatPage()
        self.chat.connect_bridge(self.bridge)
        self.chat.model_bar.set_models_folder(core.paths.models)
        self.chat.model_bar.refresh_requested.connect(self.chat.list_models)
        self._apply_chat_settings(core.settings)

        self.settings_page = SettingsPage(
            core.settings_store, core.settings, core.paths.root, core.settings_store.last_warnings
        )
        self.settings_page.saved.connect(self._on_settings_saved)
        self.settings_page.theme_preview.connect(self.theme.apply)

        # Discover and My Models have their own bridge thread: Hub and disk work never waits
        # behind a chat, and a chat never waits behind a search.
        self.models_bridge = ModelsBridge(core)
        self.models_thread = QThread()
        self.models_thread.setObjectName("hearth-models")
        self.models_bridge.moveToThread(self.models_thread)
        self.discover = DiscoverPage()
        self.discover.connect_bridge(self.models_bridge)
        self.my_models = MyModelsPage()
        self.my_models.connect_bridge(self.models_bridge)
        self.models_bridge.models_listed.connect(self.chat.model_bar.set_models)
        self.downloads_panel = DownloadsPanel()
        self.downloads_panel.connect_bridge(self.models_bridge)
        self.models_bridge.open_in_chat.connect(self.load_in_chat)
        self.models_bridge.settings_changed.connect(self._settings_changed_elsewhere)

        # The API server runs in-process (uvicorn on its own thread) over the same engines;
        # its bridge thread starts/stops it and hands the page its log and status.
        self.server_bridge = ServerBridge(core)
        self.server_thread = QThread()
        self.server_thread.setObjectName("hearth-server")
        self.server_bridge.moveToThread(self.server_thread)
        self.server_thread.started.connect(self.server_bridge.initialize)
        self.server_page = ServerPage(str(core.paths.logs))
        self.server_page.connect_bridge(self.server_bridge)

        # Usage, costs, audit and remote engines: reports and endpoint tests on their own thread.
        self.usage_bridge = UsageBridge(core)
        self.usage_thread = QThread()
        self.usage_thread.setObjectName("hearth-usage")
        self.usage_bridge.moveToThread(self.usage_thread)
        self.usage_page = UsagePage()
        self.usage_page.connect_bridge(self.usage_bridge)
        self.usage_page.remotes_requested.connect(self.show_remotes)
        self.remotes_dialog: RemotesDialog | None = None
        self.chat.model_bar.remotes_requested.connect(self.show_remotes_for)
        self.usage_bridge.remotes_ready.connect(self._remotes_changed)

        hardware, self.hardware = self._hardware_page()
        pages: dict[str, QWidget] = {"Chat": self.chat, "Hardware": hardware}
        pages["Discover"] = self.discover
        pages["My Models"] = self.my_models
        pages["Server"] = self.server_page
        pages["Usage"] = self.usage_page
        for name, what in PLACEHOLDERS.items():
            pages[name] = ComingSoonPage(name, what, GLYPHS[name])
        pages["Settings"] = self.settings_page
        self.window = MainWindow(pages)
        self.privacy_badge = LocalOnlyBadge()
        self.privacy_badge.set_on(core.settings.privacy.local_only)
        self.privacy_badge.clicked.connect(lambda: self.window.show_section("Settings"))
        self.window.add_sidebar_footer(self.privacy_badge)
        self.downloads_panel.setParent(self.window, Qt.WindowType.Window)  # closes with it
        self.downloads_button = DownloadsButton(self.downloads_panel)
        self.window.add_sidebar_footer(self.downloads_button)
        self.window.add_shortcut("Ctrl+N", self.new_chat)
        self.window.add_shortcut("Ctrl+L", self.focus_model_picker)
        self.window.restore_geometry_b64(
            core.settings.window.geometry_b64, core.settings.window.maximized
        )
        self.bridge_thread.start()
        self.models_thread.start()
        self.server_thread.start()
        self.usage_thread.start()
        self.chat.start()
        self._closed = False
        # What startup built lives as long as the app. Collected once, then frozen out of the
        # cyclic GC's view, a full collection stops walking ~100k objects: measured 40-90 ms
        # UI stalls mid-stream (bench/chat_ui.py), ~25 ms worst after. Only live objects are
        # frozen (nothing leaks); later objects are collected as before.
        gc.collect()
        gc.freeze()

    def _hardware_page(self) -> tuple[QWidget, HardwareController | None]:
        """The live Hardware page and its poller, or an honest placeholder if it is missing."""
        try:
            from app.ui.pages.hardware import HardwarePage
        except ImportError:
            return ComingSoonPage("Hardware", HARDWARE_WHAT, GLYPHS["Hardware"]), None
        page = HardwarePage()
        return page, HardwareController(page, self._engine_status, kv_types=self._kv_types)

    def _engine_status(self) -> tuple[EngineStatus, int | None]:
        engine = self.bridge.chat_engine
        if engine is None:
            return EngineStatus(EngineState.EMPTY), None
        return engine.status, engine.engine_pid

    def _kv_types(self) -> tuple[str, str]:
        load = self.core.settings.load_defaults
        return load.type_k, load.type_v

    # ------------------------------------------------------------------ actions
    def new_chat(self) -> None:
        self.window.show_section("Chat")
        if not self.chat.generating:
            self.chat.new_conversation.emit()
        self.chat.composer.input.setFocus()

    def focus_model_picker(self) -> None:
        self.window.show_section("Chat")
        self.chat.model_bar.picker.setFocus()

    def load_in_chat(self, model_id: str) -> None:
        """A finished download's "Load model": the Chat, that model picked, its load started."""
        self.window.show_section("Chat")
        picker = self.chat.model_bar.picker
        index = picker.findData(model_id)
        if index >= 0:
            picker.setCurrentIndex(index)
        self.chat.load_model.emit(model_id)

    def show_remotes(self) -> None:
        """The remote engines dialog (endpoints, keys, per-model fallback)."""
        if self.remotes_dialog is None:
            self.remotes_dialog = RemotesDialog(self.window)
            self.remotes_dialog.connect_bridge(self.usage_bridge)
        self.remotes_dialog.list_requested.emit(True)
        self.remotes_dialog.show()
        self.remotes_dialog.raise_()

    def show_remotes_for(self, model_id: str) -> None:
        """The remote engines dialog, its fallback form on ``model_id`` (from the chat)."""
        self.show_remotes()
        if model_id and self.remotes_dialog is not None:
            self.remotes_dialog.edit_fallback_for(model_id)

    def _remotes_changed(self, view: RemotesView) -> None:
        """What the Remote engines dialog just learnt updates the chat's picker too."""
        listing = view.listing
        choices = RemoteChoices(list(listing.models), dict(listing.errors), view.local_only)
        self.chat.model_bar.set_remote_models(choices)

    def _on_settings_saved(self, settings: Settings) -> None:
        self.core.settings = settings
        self.privacy_badge.set_on(settings.privacy.local_only)
        self.chat.model_bar.remotes_refresh_requested.emit()  # Local only may have changed
        self.theme.apply(settings.appearance.theme, settings.appearance.font_size)
        self._apply_chat_settings(settings)

    def _settings_changed_elsewhere(self, settings: Settings) -> None:
        """A choice saved outside the Settings page (e.g. the keyring consent) shows there,
        unless the user has unsaved edits open."""
        if not self.settings_page.is_dirty():
            self.settings_page.load(settings)

    def _apply_chat_settings(self, settings: Settings) -> None:
        self.chat.composer.set_send_with_enter(settings.chat.send_with_enter)
        self.chat.transcript.show_stats = settings.chat.show_generation_stats

    # ----------------------------------------------------------------- teardown
    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.hardware is not None:
            self.hardware.stop()
        self.settings_page.shutdown()
        self._save_window_state()
        self.server_thread.quit()
        self.server_thread.wait(10_000)
        self.server_bridge.shutdown()  # ends API streams before the engines go away
        self.usage_thread.quit()
        self.usage_thread.wait(10_000)
        self.bridge_thread.quit()
        self.bridge_thread.wait(10_000)
        self.bridge.shutdown()
        self.models_thread.quit()
        self.models_thread.wait(10_000)
        self.models_bridge.shutdown()

    def _save_window_state(self) -> None:
        geometry = self.window.geometry_b64()
        maximized = self.window.isMaximized()

        def remember(settings: Settings) -> None:
            settings.window.geometry_b64 = geometry
            settings.window.maximized = maximized

        try:
            self.core.settings_store.update(remember)
        except Exception as exc:
            print(f"hearth: could not save the window state: {exc}", file=sys.stderr)


def run_gui() -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    from app.backend.paths import DataPaths
    from app.ui import desktop

    paths = DataPaths.default()
    instance = desktop.claim_instance(paths, sys.argv[1:])
    if instance is None:
        return 0  # handed over to the running window, which comes to the front
    hearth = HearthApp(HearthCore(paths))
    integration = desktop.attach(hearth, instance)
    hearth.window.show()
    integration.after_show()
    try:
        return int(app.exec())
    finally:
        hearth.shutdown()
