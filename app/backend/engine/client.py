"""The one request path: chat UI, API server and CLI all submit generations here.

Requests carry ids and may be in flight several at a time (the engine queues them), so a
scheduler that batches sequences can arrive without changing callers.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.backend.engine.process import EngineCrashed, EngineLoadError, EngineProcess
from app.backend.engine.protocol import ChannelClosed, Message
from app.backend.engine.types import (
    EngineState,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    GenerationStats,
    LoadParams,
    ModelInfo,
    TokenChunk,
    TokenLogprob,
)

__all__ = [
    "EngineCallError",
    "EngineClient",
    "EngineCrashed",
    "EngineLoadError",
    "EngineNotReady",
    "RequestHandle",
]


class EngineNotReady(Exception):
    """No model is loaded (or it is still loading)."""


class EngineCallError(Exception):
    """The engine refused a tokenize/embed call; the message says why."""


@dataclass
class EngineStatus:
    state: EngineState
    model_path: Path | None = None
    info: ModelInfo | None = None
    message: str = ""


class RequestHandle:
    """A submitted generation. Events go to the callback if one was given, else to a queue."""

    def __init__(
        self,
        request_id: str,
        cancel: Callable[[str], None],
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.id = request_id
        self._cancel = cancel
        self._on_event = on_event
        self._queue: queue.Queue[Event] = queue.Queue()
        self.done = threading.Event()
        self.result: Finished | Failed | None = None

    def deliver(self, event: Event) -> None:
        if isinstance(event, Finished | Failed):
            self.result = event
        if self._on_event is not None:
            self._on_event(event)
        else:
            self._queue.put(event)
        if self.result is not None:
            self.done.set()

    def cancel(self) -> None:
        if not self.done.is_set():
            self._cancel(self.id)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield events until the request finishes (only for handles without a callback)."""
        while True:
            event = self._queue.get(timeout=timeout)
            yield event
            if isinstance(event, Finished | Failed):
                return

    def collect(self, timeout: float | None = None) -> tuple[str, Finished | Failed]:
        """Wait for the whole reply: (text, final event)."""
        parts: list[str] = []
        final: Finished | Failed | None = None
        for event in self.events(timeout):
            if isinstance(event, TokenChunk):
                parts.append(event.text)
            else:
                final = event
        assert final is not None
        return "".join(parts), final


class EngineClient:
    """Loads one model at a time into a supervised engine process and streams requests to it."""

    def __init__(self, log_dir: Path, log_name: str = "engine.log") -> None:
        self._log_dir = log_dir
        self._log_name = log_name
        self._lock = threading.RLock()
        self._process: EngineProcess | None = None
        self._handles: dict[str, RequestHandle] = {}
        self._ids = itertools.count(1)
        self._listeners: list[Callable[[EngineStatus], None]] = []
        self._load_generation = 0
        self._calls: dict[str, tuple[threading.Event, list[Message]]] = {}
        self.status = EngineStatus(EngineState.EMPTY)

    # ----------------------------------------------------------------- listeners
    def add_listener(self, listener: Callable[[EngineStatus], None]) -> None:
        """Called (from any thread) whenever the engine's state changes."""
        self._listeners.append(listener)

    def _set_status(self, status: EngineStatus) -> None:
        self.status = status
        for listener in list(self._listeners):
            listener(status)

    # ------------------------------------------------------------ model lifecycle
    def load(
        self,
        model_path: Path,
        params: LoadParams,
        on_progress: Callable[[float], None] | None = None,
    ) -> ModelInfo:
        """Load a model (replacing the current one). Blocks; call it off the UI thread."""
        from app.backend.gguf import GGUFError, validate_model_file

        self.unload()
        with self._lock:
            self._load_generation += 1
            generation = self._load_generation
            process = EngineProcess(self._log_dir / self._log_name)
            self._process = process
        self._set_status(EngineStatus(EngineState.LOADING, model_path))
        try:
            validate_model_file(model_path)
            info = process.start(model_path, params, on_progress)
        except (GGUFError, EngineLoadError, OSError) as exc:
            with self._lock:
                if self._process is process:
                    self._process = None
            process.stop()
            message = str(exc)
            if generation == self._load_generation:
                self._set_status(EngineStatus(EngineState.ERROR, model_path, None, message))
            raise EngineLoadError(message) from exc
        process.pump(self._on_message, lambda reason: self._on_exit(process, reason))
        self._set_status(EngineStatus(EngineState.READY, model_path, info))
        return info

    def cancel_load(self) -> None:
        """Abandon a load in progress (the engine process is killed)."""
        with self._lock:
            process = self._process
        if process is not None and self.status.state is EngineState.LOADING:
            process.kill()

    def unload(self) -> None:
        with self._lock:
            process, self._process = self._process, None
            handles, self._handles = dict(self._handles), {}
        for handle in handles.values():
            handle.deliver(Failed(handle.id, "The model was unloaded."))
        if process is not None:
            process.stop()
            self._set_status(EngineStatus(EngineState.EMPTY))

    def close(self) -> None:
        self.unload()

    @property
    def engine_pid(self) -> int | None:
        return self._process.pid if self._process else None

    # ----------------------------------------------------------------- requests
    def submit(
        self, request: GenerationRequest, on_event: Callable[[Event], None] | None = None
    ) -> RequestHandle:
        with self._lock:
            process = self._process
            if process is None or self.status.state is not EngineState.READY:
                raise EngineNotReady("No model is loaded. Load a model first.")
            request_id = f"r{next(self._ids)}"
            handle = RequestHandle(request_id, self.cancel, on_event)
            self._handles[request_id] = handle
        try:
            process.send(
                {
                    "type": "generate",
                    "id": request_id,
                    "prompt": request.prompt,
                    "sampling": request.sampling.to_dict(),
                    "add_bos": request.add_bos,
                    "grammar": request.grammar,
                    "logprobs": request.logprobs,
                }
            )
        except ChannelClosed:
            self._finish(request_id, Failed(request_id, "The engine is not running.", True))
        return handle

    def cancel(self, request_id: str) -> None:
        with self._lock:
            process = self._process
        if process is not None:
            try:
                process.send({"type": "cancel", "id": request_id})
            except ChannelClosed:
                pass

    def tokenize(self, text: str, add_bos: bool = True, timeout: float = 30.0) -> list[int]:
        """Token ids of ``text`` as this model reads it (for usage counts and context meters)."""
        return list(self._call({"type": "tokenize", "text": text, "add_bos": add_bos}, timeout))

    def embed(self, texts: list[str], timeout: float = 120.0) -> list[list[float]]:
        """Normalised embeddings, one per text."""
        return list(self._call({"type": "embed", "texts": texts}, timeout))

    def _call(self, message: Message, timeout: float) -> Any:
        with self._lock:
            process = self._process
            if process is None or self.status.state is not EngineState.READY:
                raise EngineNotReady("No model is loaded. Load a model first.")
            call_id = f"c{next(self._ids)}"
            done = threading.Event()
            box: list[Message] = []
            self._calls[call_id] = (done, box)
        try:
            process.send({**message, "id": call_id})
            if not done.wait(timeout):
                raise TimeoutError(f"The engine did not answer within {timeout:.0f} s.")
        except ChannelClosed as exc:
            raise EngineNotReady("The engine is not running.") from exc
        finally:
            with self._lock:
                self._calls.pop(call_id, None)
        if not box:
            raise EngineNotReady("The engine stopped before answering.")
        if "error" in box[0]:
            raise EngineCallError(str(box[0]["error"]))
        return box[0]["value"]

    def in_flight(self) -> int:
        with self._lock:
            return len(self._handles)

    # --------------------------------------------------------- engine messages
    def _on_message(self, message: Message) -> None:
        kind = message.get("type")
        request_id = str(message.get("id"))
        if kind == "tokens":
            with self._lock:
                handle = self._handles.get(request_id)
            if handle is not None:
                raw = message.get("logprobs")
                logprobs = [TokenLogprob.from_dict(e) for e in raw] if raw is not None else None
                handle.deliver(TokenChunk(request_id, message["text"], int(message["n"]), logprobs))
        elif kind == "done":
            stats = GenerationStats(**message.get("stats", {}))
            self._finish(request_id, Finished(request_id, message["stop_reason"], stats))
        elif kind == "error":
            self._finish(request_id, Failed(request_id, str(message.get("message"))))
        elif kind == "result":
            with self._lock:
                waiting = self._calls.get(request_id)
            if waiting is not None:
                waiting[1].append(message)
                waiting[0].set()

    def _finish(self, request_id: str, event: Finished | Failed) -> None:
        with self._lock:
            handle = self._handles.pop(request_id, None)
        if handle is not None:
            handle.deliver(event)

    def _on_exit(self, process: EngineProcess, reason: str) -> None:
        with self._lock:
            if self._process is not process:
                return
            self._process = None
            handles, self._handles = dict(self._handles), {}
        path = self.status.model_path
        for handle in handles.values():
            handle.deliver(Failed(handle.id, reason, engine_crashed=True))
        with self._lock:
            waiting_calls = list(self._calls.values())
        for done, _box in waiting_calls:
            done.set()
        self._set_status(EngineStatus(EngineState.ERROR, path, None, reason))


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll a condition (tests and the CLI use it while an engine starts or stops)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
