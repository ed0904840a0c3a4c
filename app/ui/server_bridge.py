"""The Server page's bridge: owns the API server runner and lives in its own QThread.

Starting and stopping uvicorn, hashing tokens, saving settings and collecting the request
log all happen here, never on the UI thread; results go back as queued signals. Log entries
arrive on the server's thread and are handed over in batches on a timer, so a burst of
requests costs the UI one table update per quarter second.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from app.backend.core import HearthCore
from app.backend.server.request_log import LogEntry
from app.backend.server.runner import (
    PortInUseError,
    ServerConfigError,
    ServerRunner,
    ServerState,
)
from app.backend.settings import ServerSettings, Settings

FLUSH_MS = 250
STATS_EVERY = 4  # flushes (one second)


class ServerBridge(QObject):
    state_changed = Signal(str, str, str)  # state, message, base URL
    port_busy = Signal(int, int)  # the busy port, a free one (0 if none found)
    stats = Signal(dict)
    log_entries = Signal(list)  # list[dict] of LogEntry fields
    tokens_changed = Signal(list)  # list[dict]: id, name, created
    token_created = Signal(str, str)  # name, token (shown once)
    settings_changed = Signal(object)  # ServerSettings
    error = Signal(str)

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        self.runner = ServerRunner(core)
        self._pending: list[LogEntry] = []
        self._pending_lock = threading.Lock()
        self._timer: QTimer | None = None
        self._ticks = 0
        self.runner.request_log.add_listener(self._on_entry)

    # ------------------------------------------------------------ lifecycle
    @Slot()
    def initialize(self) -> None:
        """Runs on the bridge thread once it starts: timer, tokens, settings, auto-start."""
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self._flush)
        self._timer.start()
        thread = self.thread()
        # QThread.finished is emitted on the finishing thread: stop the timer there, so
        # destroying the bridge later (on the UI thread) never touches a running timer.
        thread.finished.connect(self._timer.stop, Qt.ConnectionType.DirectConnection)
        self.settings_changed.emit(self.core.settings.server)
        self.refresh_tokens()
        self._emit_state()
        if self.core.settings.server.auto_start:
            self.start()

    @Slot()
    def start(self) -> None:
        try:
            self.runner.start()
        except PortInUseError as exc:
            self.port_busy.emit(exc.port, exc.suggestion or 0)
        except ServerConfigError as exc:
            self.error.emit(str(exc))
        except OSError as exc:
            self.error.emit(f"The server could not start: {exc}")
        self._emit_state()
        self._emit_stats()

    @Slot()
    def stop(self) -> None:
        self.runner.stop()
        self._emit_state()

    @Slot(bool)
    def set_running(self, running: bool) -> None:
        if running:
            self.start()
        else:
            self.stop()

    def shutdown(self) -> None:
        """Called from the UI thread after the bridge thread has finished."""
        self.runner.stop()
        self.runner.request_log.remove_listener(self._on_entry)
        self.runner.request_log.close()

    # ------------------------------------------------------------- settings
    @Slot(dict)
    def update_settings(self, changes: dict[str, Any]) -> None:
        """Save server settings; address changes apply the next time the server starts."""
        known = ServerSettings.__dataclass_fields__
        clean = {k: v for k, v in changes.items() if k in known}

        def apply(settings: Settings) -> None:
            settings.server = replace(settings.server, **clean)

        try:
            self.core.settings = self.core.settings_store.update(apply)
        except Exception as exc:
            self.error.emit(f"Could not save the server settings: {exc}")
            return
        self.settings_changed.emit(self.core.settings.server)

    @Slot(int)
    def use_port(self, port: int) -> None:
        self.update_settings({"port": port})
        self.start()

    # --------------------------------------------------------------- tokens
    @Slot()
    def refresh_tokens(self) -> None:
        try:
            records = self.runner.tokens.records()
        except RuntimeError as exc:
            self.error.emit(str(exc))
            return
        self.tokens_changed.emit(
            [{"id": r.id, "name": r.name, "created": r.created} for r in records]
        )

    @Slot(str)
    def create_token(self, name: str) -> None:
        try:
            record, token = self.runner.tokens.create(name)
        except (ValueError, RuntimeError, OSError) as exc:
            self.error.emit(str(exc))
            return
        self.token_created.emit(record.name, token)
        self.refresh_tokens()

    @Slot(str)
    def revoke_token(self, token_id: str) -> None:
        try:
            self.runner.tokens.revoke(token_id)
        except (KeyError, RuntimeError, OSError) as exc:
            self.error.emit(str(exc.args[0] if exc.args else exc))
            return
        self.refresh_tokens()
        if not self.runner.tokens.records() and self.core.settings.server.serve_on_network:
            self.update_settings({"serve_on_network": False})

    # ------------------------------------------------------------------ log
    @Slot()
    def clear_log(self) -> None:
        self.runner.request_log.clear()

    def _on_entry(self, entry: LogEntry) -> None:  # the server's thread
        with self._pending_lock:
            self._pending.append(entry)

    def _flush(self) -> None:
        with self._pending_lock:
            entries, self._pending = self._pending, []
        if entries:
            self.log_entries.emit([asdict(e) for e in entries])
        self._ticks += 1
        if self._ticks % STATS_EVERY == 0 and self.runner.state is ServerState.RUNNING:
            self._emit_stats()

    def _emit_stats(self) -> None:
        service = self.runner.service
        if service is not None and self.runner.state is ServerState.RUNNING:
            self.stats.emit(asdict(service.stats()))

    def _emit_state(self) -> None:
        self.state_changed.emit(self.runner.state.value, self.runner.message, self.runner.base_url)
