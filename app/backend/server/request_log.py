"""The live request log: a ring buffer for the UI, listeners, and a rotating file.

Each finished request (including refused ones) becomes one :class:`LogEntry`. Routes add
the model and token counts to ``scope["state"]["hearth"]``; prompt text is recorded only
when the user turned ``log_prompts`` on. The file is ``logs/server.log`` under the data root,
one JSON object per line, rotated like Hearth's own log.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.backend.server.security import ASGIApp, Message, Receive, Scope, Send

LOG_NAME = "server.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 5
KEEP = 500


@dataclass
class LogEntry:
    time: float
    client: str
    method: str
    path: str
    status: int
    duration_ms: float
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    prompt: str | None = None
    token_name: str = ""  # the API token's name when tokens are enabled (never the token)
    engine: str = ""  # "local" or "remote:<endpoint>" for generations
    fallback: str = ""  # the fallback notice when a rule moved the request to a remote

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Thread-safe: entries arrive on the server thread, readers are anywhere."""

    def __init__(self, log_dir: Path | None, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=keep)
        self._listeners: list[Callable[[LogEntry], None]] = []
        self._logger: logging.Logger | None = None
        self.path: Path | None = None
        if log_dir is not None:
            self.path = log_dir / LOG_NAME
            self._logger = _file_logger(self.path)

    def add_listener(self, listener: Callable[[LogEntry], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[LogEntry], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def record(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
        if self._logger is not None:
            self._logger.info(json.dumps(entry.to_dict(), ensure_ascii=False))
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:  # a broken listener must not break the server
                logging.getLogger(__name__).exception("request log listener failed")

    def close(self) -> None:
        if self._logger is not None:
            for handler in list(self._logger.handlers):
                self._logger.removeHandler(handler)
                handler.close()


def _file_logger(path: Path) -> logging.Logger:
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"hearth.server.requests.{id(path)}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return logger


def annotate(scope: Scope, **values: Any) -> None:
    """Attach model, token counts or prompt to the request's log entry."""
    scope.setdefault("state", {}).setdefault("hearth", {}).update(values)


class RequestLogMiddleware:
    """Outermost layer: times every request and records it once the response is complete."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            client = scope.get("client")
            notes = scope.get("state", {}).get("hearth", {})
            self.log.record(
                LogEntry(
                    time=time.time(),
                    client=f"{client[0]}" if client else "",
                    method=scope.get("method", ""),
                    path=scope.get("path", ""),
                    status=status or 499,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    model=str(notes.get("model", "")),
                    tokens_in=int(notes.get("tokens_in", 0)),
                    tokens_out=int(notes.get("tokens_out", 0)),
                    prompt=notes.get("prompt"),
                    token_name=str(notes.get("token_name", "")),
                    engine=str(notes.get("engine", "")),
                    fallback=str(notes.get("fallback", "")),
                )
            )
