"""The engine process: loads one model and serves generation requests over a socket.

Runs as ``python -m app.backend.engine.worker`` (or ``hearth engine-worker`` inside a bundle).
A reader thread receives commands so that a cancel arrives while the main thread decodes;
the main thread runs the batching scheduler (``scheduler.py``), taking new requests between
decode steps. Cancellation reaches llama.cpp through its abort callback when the cancelled
request is alone in the running step, so Stop works during a long prompt read too.
If the parent goes away, the engine exits instead of lingering.
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import sys
import threading
import time
from typing import Any

from app.backend.engine.protocol import Channel, ChannelClosed, Message
from app.backend.engine.scheduler import RequestError, Scheduler
from app.backend.engine.types import (
    GenerationStats,
    LoadParams,
    SamplingParams,
    StopReason,
    TokenLogprob,
)

_SHUTDOWN = object()


class EngineWorker:
    """Owns the runtime and the batching scheduler inside the engine process."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.lock = threading.Lock()
        self.runtime: Any = None
        self.scheduler: Scheduler | None = None
        self._early_cancels: set[str] = set()  # cancels that arrived before the model loaded

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
            scheduler = self.scheduler
            if scheduler is None:
                self._early_cancels.add(request_id)
        if scheduler is not None:
            scheduler.cancel(request_id)
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
        scheduler = Scheduler(runtime, _ChannelSink(self.channel))
        with self.lock:
            self.runtime = runtime
            self.scheduler = scheduler
            early, self._early_cancels = self._early_cancels, set()
        for request_id in early:
            scheduler.cancel(request_id)
        self.channel.send({"type": "loaded", "info": runtime.info().__dict__})
        return True

    def serve(self) -> None:
        """Take new commands between steps; block only while there is nothing to decode."""
        scheduler = self.scheduler
        assert scheduler is not None
        while True:
            try:
                message = self.inbox.get(block=not scheduler.has_work())
            except queue.Empty:
                message = None
            while message is not None:
                if message is _SHUTDOWN:
                    return
                self._handle(message)
                try:
                    message = self.inbox.get_nowait()
                except queue.Empty:
                    message = None
            scheduler.step()

    def _handle(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "generate":
            self._submit(message)
        elif kind in ("tokenize", "embed"):
            self._answer_call(message)

    def _submit(self, message: Message) -> None:
        from app.backend.engine.runtime import EngineRuntimeError

        assert self.scheduler is not None
        request_id = str(message["id"])
        try:
            self.scheduler.submit(
                request_id,
                prompt=str(message["prompt"]),
                sampling=SamplingParams.from_dict(message.get("sampling") or {}),
                add_bos=bool(message.get("add_bos", True)),
                grammar=message.get("grammar"),
                logprobs=_logprobs(message.get("logprobs")),
            )
        except (RequestError, EngineRuntimeError) as exc:
            self.channel.send({"type": "error", "id": request_id, "message": str(exc)})
        except Exception as exc:
            reason = f"The engine failed on this request: {type(exc).__name__}: {exc}"
            self.channel.send({"type": "error", "id": request_id, "message": reason})

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


class _ChannelSink:
    """Scheduler events as protocol messages."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def tokens(
        self,
        request_id: str,
        text: str,
        n_tokens: int,
        logprobs: list[TokenLogprob] | None = None,
    ) -> None:
        message: Message = {"type": "tokens", "id": request_id, "text": text, "n": n_tokens}
        if logprobs is not None:
            message["logprobs"] = [entry.to_dict() for entry in logprobs]
        self.channel.send(message)

    def done(self, request_id: str, reason: StopReason, stats: GenerationStats) -> None:
        self.channel.send(_done(request_id, reason, stats.to_dict()))

    def error(self, request_id: str, message: str) -> None:
        self.channel.send({"type": "error", "id": request_id, "message": message})


def _logprobs(value: object) -> int | None:
    """How many alternatives a request wants (None: no log-probabilities), kept in 0..20."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(20, value))
    return None


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
        if worker.scheduler is not None:
            worker.scheduler.close()
        if worker.runtime is not None:
            worker.runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
