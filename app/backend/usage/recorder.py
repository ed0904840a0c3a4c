"""The one object chat and API call to account for a generation: ``track`` then ``finish``.

    tracking = core.usage.track("chat", model_id)          # when the request is submitted
    ...
    tracking.finish(stats.prompt_tokens, stats.completion_tokens)   # on Finished / Failed

``track`` starts the energy meter for local engines; ``finish`` stops it and stores one
record. Both are cheap and thread-safe; ``finish`` twice records once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.backend.usage.energy import EnergyMeter, Span
from app.backend.usage.store import UsageRecord, UsageStore

log = logging.getLogger(__name__)
Listener = Callable[[UsageRecord], None]


def api_source(client: str | None) -> str:
    """The source name of an API request: ``api:<token or client name>`` (``api`` alone)."""
    return f"api:{client}" if client else "api"


class Tracking:
    """A generation being accounted for (see the module docstring)."""

    def __init__(
        self,
        recorder: UsageRecorder,
        source: str,
        model_id: str,
        engine: str,
        span: Span | None,
    ) -> None:
        self.recorder = recorder
        self.source = source
        self.model_id = model_id
        self.engine = engine
        self.started_at = time.time()
        self._t0 = time.monotonic()
        self._span = span
        self._done = threading.Lock()
        self.record: UsageRecord | None = None

    def abandon(self) -> None:
        """Stop metering without a record (the request moved to another engine)."""
        meter = self.recorder.meter
        if self._done.acquire(blocking=False) and self._span is not None and meter is not None:
            meter.stop(self._span)

    def finish(self, prompt_tokens: int, completion_tokens: int) -> UsageRecord | None:
        """Store the record (once); errors are logged, never raised into a reply."""
        if not self._done.acquire(blocking=False):
            return self.record
        energy = None
        if self._span is not None and self.recorder.meter is not None:
            energy = self.recorder.meter.stop(self._span)
        self.record = self.recorder.record(
            self.source,
            self.model_id,
            prompt_tokens,
            completion_tokens,
            started_at=self.started_at,
            duration_s=time.monotonic() - self._t0,
            energy_j=energy,
            engine=self.engine,
        )
        return self.record


class UsageRecorder:
    """Usage store plus energy meter, as ``HearthCore.usage``."""

    def __init__(self, store: UsageStore, meter: EnergyMeter | None = None) -> None:
        self.store = store
        self.meter = meter
        self._listeners: list[Listener] = []

    @classmethod
    def open(cls, path: Path, meter: EnergyMeter | None = None) -> UsageRecorder:
        return cls(UsageStore(path), meter)

    def add_listener(self, listener: Listener) -> None:
        """Called (on the recording thread) after each record, e.g. to refresh a dashboard."""
        self._listeners.append(listener)

    def track(self, source: str, model_id: str, engine: str = "local") -> Tracking:
        span = None
        if engine == "local" and self.meter is not None:
            try:
                span = self.meter.start()
            except Exception:
                log.exception("Energy meter could not start")
        return Tracking(self, source, model_id, engine, span)

    def record(
        self,
        source: str,
        model_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        started_at: float,
        duration_s: float,
        energy_j: float | None = None,
        engine: str = "local",
    ) -> UsageRecord | None:
        """Store one record directly (when the caller measured everything itself)."""
        try:
            record = self.store.add(
                UsageRecord(
                    source,
                    model_id,
                    prompt_tokens,
                    completion_tokens,
                    started_at,
                    duration_s,
                    energy_j,
                    engine,
                )
            )
        except Exception:
            log.exception("Could not store a usage record")
            return None
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("Usage listener failed")
        return record

    def close(self) -> None:
        if self.meter is not None:
            self.meter.close()
        self.store.close()
