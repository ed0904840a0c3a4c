"""Feeds the Hardware page: detection once, then a sample about once a second.

Sampling (psutil, NVML) and detection (which may import llama.cpp) run on a dedicated worker
thread, never on the UI thread. The timer only runs while the page is visible: nobody pays
for graphs nobody sees. At most one sample is in flight, so a slow driver cannot pile up
requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, QThread, QTimer, Signal, Slot

from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState
from app.backend.hardware import (
    HardwareInfo,
    HardwareMonitor,
    HardwareSnapshot,
    LoadedModelInfo,
    detect_hardware,
)

POLL_INTERVAL_MS = 1000


def _default_monitor() -> HardwareMonitor:
    return HardwareMonitor()


def _default_detect() -> HardwareInfo:
    """Looked up at call time so tests can replace ``detect_hardware`` on this module."""
    return detect_hardware()


class HardwareView(Protocol):
    """What the controller needs from the page (``HardwarePage`` provides it)."""

    def show_snapshot(self, snapshot: HardwareSnapshot) -> None: ...
    def show_static_info(self, info: HardwareInfo) -> None: ...
    def show_loaded_models(self, models: Sequence[LoadedModelInfo]) -> None: ...


def loaded_models(
    status: EngineStatus,
    pid: int | None,
    snapshot: HardwareSnapshot | None,
    kv_types: tuple[str, str] = ("f16", "f16"),
) -> list[LoadedModelInfo]:
    """The engine's model as the Hardware page lists it (RAM is the engine's RSS)."""
    if status.state is not EngineState.READY or status.info is None:
        return []
    info = status.info
    name = status.model_path.stem if status.model_path else Path(info.path).stem
    rss = snapshot.process_rss_bytes.get(pid, 0) if snapshot is not None and pid else 0
    return [
        LoadedModelInfo(
            name=name,
            n_layers=info.n_layers,
            gpu_layers=info.n_gpu_layers,
            n_ctx=info.n_ctx,
            type_k=kv_types[0],
            type_v=kv_types[1],
            cpu_bytes=rss,
            pid=pid,
        )
    ]


class _Worker(QObject):
    """Lives in the worker thread; owns the monitor (NVML handles stay on one thread)."""

    sampled = Signal(object)  # HardwareSnapshot
    detected = Signal(object)  # HardwareInfo
    failed = Signal(str)

    def __init__(
        self,
        monitor_factory: Callable[[], HardwareMonitor],
        detect: Callable[[], HardwareInfo],
    ) -> None:
        super().__init__()
        self._monitor_factory = monitor_factory
        self._detect = detect
        self.monitor: HardwareMonitor | None = None

    @Slot(object)
    def sample(self, pids: tuple[int, ...]) -> None:
        try:
            if self.monitor is None:
                self.monitor = self._monitor_factory()
            self.sampled.emit(self.monitor.sample(pids))
        except Exception as exc:
            self.failed.emit(f"Could not read hardware usage: {exc}")

    @Slot()
    def detect(self) -> None:
        try:
            self.detected.emit(self._detect())
        except Exception as exc:
            self.failed.emit(f"Could not detect the hardware: {exc}")

    def close(self) -> None:
        """Called after the thread has stopped, so nothing else touches the monitor."""
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None


class HardwareController(QObject):
    """Polls while ``page`` is shown; ``stop()`` ends the worker thread for good."""

    _request_sample = Signal(object)
    _request_detect = Signal()

    def __init__(
        self,
        page: QObject,
        engine_status: Callable[[], tuple[EngineStatus, int | None]],
        *,
        kv_types: Callable[[], tuple[str, str]] = lambda: ("f16", "f16"),
        interval_ms: int = POLL_INTERVAL_MS,
        monitor_factory: Callable[[], HardwareMonitor] | None = None,
        detect: Callable[[], HardwareInfo] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.page = page
        self._engine_status = engine_status
        self._kv_types = kv_types
        self._shown_models: list[LoadedModelInfo] | None = None
        self.worker_thread: QThread | None = None
        self._worker = _Worker(monitor_factory or _default_monitor, detect or _default_detect)
        self._worker.sampled.connect(self._on_sampled)
        self._worker.detected.connect(self._on_detected)
        self._worker.failed.connect(self._on_failed)
        self._request_sample.connect(self._worker.sample)
        self._request_detect.connect(self._worker.detect)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.samples_requested = 0
        self._in_flight = False
        self._detected = False
        self._stopped = False
        page.installEventFilter(self)
        if getattr(page, "isVisible", lambda: False)():
            self._start_polling()

    @property
    def polling(self) -> bool:
        return self.timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.page and event.type() == QEvent.Type.Show:
            QTimer.singleShot(0, self._start_polling)  # outside Qt's show machinery
        elif watched is self.page and event.type() == QEvent.Type.Hide:
            self.timer.stop()
        return False

    def _start_polling(self) -> None:
        if self._stopped:
            return
        if self.worker_thread is None:
            self.worker_thread = QThread()
            self.worker_thread.setObjectName("hearth-hardware")
            self._worker.moveToThread(self.worker_thread)
            self.worker_thread.start()
        if not self._detected:
            self._detected = True
            self._request_detect.emit()
        if not self.timer.isActive():
            self.timer.start()
            self.tick()  # show numbers now, not a second from now

    @Slot()
    def tick(self) -> None:
        if self._in_flight or self.worker_thread is None or self._stopped:
            return
        _status, pid = self._engine_status()
        self._in_flight = True
        self.samples_requested += 1
        self._request_sample.emit((pid,) if pid else ())

    @Slot(object)
    def _on_sampled(self, snapshot: HardwareSnapshot) -> None:
        self._in_flight = False
        if self._stopped or not self.timer.isActive():
            return  # hidden meanwhile: don't repaint what nobody sees
        self.page.show_snapshot(snapshot)  # type: ignore[attr-defined]
        status, pid = self._engine_status()
        models = loaded_models(status, pid, snapshot, self._kv_types())
        if models != self._shown_models:
            self._shown_models = models
            self.page.show_loaded_models(models)  # type: ignore[attr-defined]

    @Slot(object)
    def _on_detected(self, info: HardwareInfo) -> None:
        if not self._stopped:
            self.page.show_static_info(info)  # type: ignore[attr-defined]

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._in_flight = False
        show = getattr(self.page, "show_error", None)
        if show is not None and not self._stopped:
            show(message)

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Stop polling and end the worker thread; True when it ended in time."""
        self._stopped = True
        self.timer.stop()
        self.page.removeEventFilter(self)
        ended = True
        if self.worker_thread is not None:
            self.worker_thread.quit()
            ended = bool(self.worker_thread.wait(timeout_ms))
        if ended:
            self._worker.close()
        return ended
