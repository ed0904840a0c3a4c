"""The engine process: loads one model and serves generation requests over a socket.

Runs as ``python -m app.backend.engine.worker`` (or ``hearth engine-worker`` inside a bundle).
A reader thread receives commands so that a cancel arrives while the main thread decodes;
cancellation reaches llama.cpp through its abort callback, so Stop works during a long
prompt read too. If the parent goes away, the engine exits instead of lingering.
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import sys
import threading
import time
from collections import deque
from typing import Any

from app.backend.engine.protocol import Channel, ChannelClosed, Message
from app.backend.engine.types import LoadParams, SamplingParams

FLUSH_INTERVAL_S = 0.025
_SHUTDOWN = object()


class EngineWorker:
    """Owns the runtime and the request queue inside the engine process."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.pending: deque[Message] = deque()
        self.cancelled: set[str] = set()
        self.current_id: str | None = None
        self.lock = threading.Lock()
        self.runtime: Any = None

    # -------------------------------------------------------------- command intake
    def read_commands(self) -> None:
        while True:
            try:
                message = self.channel.receive()
            except (ChannelClosed, ValueError):
                self._request_shutdown()
                return
            kind = message.get("type")
            if kind == "cancel":
                self._cancel(str(message.get("id")))
            elif kind == "shutdown":
                self._request_shutdown()
                return
            else:
                self.inbox.put(message)

    def _cancel(self, request_id: str) -> None:
        with self.lock:
            self.cancelled.add(request_id)
            if request_id == self.current_id and self.runtime is not None:
                self.runtime.request_abort()
        self.inbox.put({"type": "wake"})

    def _request_shutdown(self) -> None:
        with self.lock:
            if self.runtime is not None:
                self.runtime.request_abort()
        self.inbox.put(_SHUTDOWN)
        threading.Timer(10.0, lambda: os._exit(0)).start()

    # ------------------------------------------------------------------- main loop
    def load(self, path: str, params: LoadParams) -> bool:
        from app.backend.engine.runtime import EngineRuntimeError, LlamaRuntime

        last_sent = 0.0

        def progress(fraction: float) -> None:
            nonlocal last_sent
            now = time.monotonic()
            if now - last_sent > 0.05 or fraction >= 1.0:
                last_sent = now
                self.channel.send({"type": "progress", "fraction": fraction})

        try:
            runtime = LlamaRuntime(path, params, on_progress=progress)
        except EngineRuntimeError as exc:
            self.channel.send({"type": "load_failed", "message": str(exc)})
            return False
        with self.lock:
            self.runtime = runtime
        self.channel.send({"type": "loaded", "info": runtime.info().__dict__})
        return True

    def serve(self) -> None:
        while True:
            message = self.inbox.get()
            if message is _SHUTDOWN:
                return
            if message.get("type") == "generate":
                self.pending.append(message)
            elif message.get("type") in ("tokenize", "embed"):
                self._answer_call(message)
            while self.pending:
                self._run(self.pending.popleft())

    def _answer_call(self, message: Message) -> None:
        """Short synchronous requests (tokenize, embed) answered with a ``result`` message."""
        from app.backend.engine.runtime import EngineRuntimeError

        request_id = message["id"]
        try:
            if message["type"] == "tokenize":
                value: Any = self.runtime.tokenize(message["text"], bool(message.get("add_bos")))
            else:
                value = self.runtime.embed([str(t) for t in message["texts"]])
        except EngineRuntimeError as exc:
            self.channel.send({"type": "result", "id": request_id, "error": str(exc)})
        else:
            self.channel.send({"type": "result", "id": request_id, "value": value})

    def _run(self, message: Message) -> None:
        from app.backend.engine.runtime import EngineRuntimeError

        request_id = str(message["id"])
        with self.lock:
            if request_id in self.cancelled:
                self.cancelled.discard(request_id)
                self.channel.send(_done(request_id, "cancelled", {}))
                return
            self.current_id = request_id
        buffer: list[str] = []
        buffered_tokens = 0
        last_flush = 0.0

        def flush() -> None:
            nonlocal buffered_tokens, last_flush
            if buffer or buffered_tokens:
                self.channel.send(
                    {
                        "type": "tokens",
                        "id": request_id,
                        "text": "".join(buffer),
                        "n": buffered_tokens,
                    }
                )
                buffer.clear()
                buffered_tokens = 0
            last_flush = time.monotonic()

        def emit(text: str, n_tokens: int) -> None:
            nonlocal buffered_tokens
            if text:
                buffer.append(text)
            buffered_tokens += n_tokens
            if time.monotonic() - last_flush >= FLUSH_INTERVAL_S:
                flush()

        try:
            result = self.runtime.generate(
                prompt=str(message["prompt"]),
                sampling=SamplingParams.from_dict(message.get("sampling") or {}),
                add_bos=bool(message.get("add_bos", True)),
                grammar=message.get("grammar"),
                emit=emit,
                should_stop=lambda: request_id in self.cancelled,
            )
        except EngineRuntimeError as exc:
            flush()
            self.channel.send({"type": "error", "id": request_id, "message": str(exc)})
        except Exception as exc:
            flush()
            reason = f"The engine failed on this request: {type(exc).__name__}: {exc}"
            self.channel.send({"type": "error", "id": request_id, "message": reason})
        else:
            flush()
            self.channel.send(_done(request_id, result.stop_reason, result.stats.to_dict()))
        finally:
            with self.lock:
                self.current_id = None
                self.cancelled.discard(request_id)


def _done(request_id: str, stop_reason: str, stats: dict[str, Any]) -> Message:
    return {"type": "done", "id": request_id, "stop_reason": stop_reason, "stats": stats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hearth engine-worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args(argv)
    return run_worker(args.fd, args.model, args.params)


def run_worker(fd: int, model: str, params_json: str) -> int:
    import json

    channel = Channel(socket.socket(fileno=fd))
    worker = EngineWorker(channel)
    threading.Thread(target=worker.read_commands, name="engine-commands", daemon=True).start()
    try:
        if not worker.load(model, LoadParams.from_dict(json.loads(params_json))):
            return 2
        worker.serve()
    except ChannelClosed:
        return 0
    finally:
        if worker.runtime is not None:
            worker.runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
