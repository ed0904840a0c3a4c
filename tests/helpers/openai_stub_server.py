"""A small, faithful OpenAI-compatible server for remote-engine tests, run in its own process.

It streams real generations: requests go to Hearth's ``EngineClient`` on a model file (the
tiny generated llama), and tokens leave as server-sent events in HTTP/1.1 chunked encoding,
like llama-server and vLLM. Killing the process mid-stream is what "the remote went away"
looks like to a client: a chunked body that never ends.

    python -m tests.helpers.openai_stub_server --model tiny.gguf --port-file port.txt \
        [--key KEY] [--pace-ms 20]

Routes: ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions``
(``stream`` true or false, ``stream_options.include_usage``), Bearer auth when ``--key``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.backend.engine.client import EngineClient
from app.backend.engine.types import (
    Failed,
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)

MODEL_NAME = "tiny-remote"


def chat_prompt(messages: list[dict[str, Any]]) -> str:
    lines = [f"{m.get('role', 'user')}: {m.get('content', '')}" for m in messages]
    return "\n".join([*lines, "assistant:"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine: EngineClient
    key: str | None = None
    pace_s: float = 0.0
    requests_seen: int = 0

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ----------------------------------------------------------------- helpers
    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.key and self.headers.get("Authorization") != f"Bearer {self.key}":
            self._json(401, {"error": {"message": "Invalid API key", "type": "auth_error"}})
            return False
        return True

    def _chunk(self, payload: str) -> None:
        data = f"data: {payload}\n\n".encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        chat = self.path.rstrip("/") == "/v1/chat/completions"
        if not chat and self.path.rstrip("/") != "/v1/completions":
            self._json(404, {"error": {"message": "not found"}})
            return
        if body.get("model") != MODEL_NAME:
            self._json(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
            return
        type(self).requests_seen += 1
        prompt = chat_prompt(body["messages"]) if chat else str(body["prompt"])
        sampling = SamplingParams(
            temperature=float(body.get("temperature", 0.0)),
            top_p=float(body.get("top_p", 1.0)),
            max_tokens=int(body.get("max_tokens") or 32),
            seed=body.get("seed"),
            stop=list(body.get("stop") or []),
        )
        handle = self.engine.submit(GenerationRequest(prompt, sampling))
        if body.get("stream"):
            self._stream(
                handle, chat, bool((body.get("stream_options") or {}).get("include_usage"))
            )
        else:
            text, final = handle.collect(timeout=120)
            self._whole(text, final, chat)

    def _stream(self, handle: Any, chat: bool, usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        kind = "chat.completion.chunk" if chat else "text_completion"
        try:
            for event in handle.events(timeout=120):
                if isinstance(event, TokenChunk):
                    piece = {"delta": {"content": event.text}} if chat else {"text": event.text}
                    choice = {"index": 0, **piece, "finish_reason": None}
                    self._chunk(json.dumps({"object": kind, "choices": [choice]}))
                    if self.pace_s:
                        time.sleep(self.pace_s)
                elif isinstance(event, Finished):
                    reason = "length" if event.stop_reason == "max_tokens" else "stop"
                    end = {"delta": {}} if chat else {"text": ""}
                    choice = {"index": 0, **end, "finish_reason": reason}
                    self._chunk(json.dumps({"object": kind, "choices": [choice]}))
                    if usage:
                        counts = {
                            "prompt_tokens": event.stats.prompt_tokens,
                            "completion_tokens": event.stats.completion_tokens,
                        }
                        self._chunk(json.dumps({"object": kind, "choices": [], "usage": counts}))
                elif isinstance(event, Failed):
                    self._chunk(json.dumps({"error": {"message": event.message}}))
            self._chunk("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            handle.cancel()  # the client went away: stop generating for it

    def _whole(self, text: str, final: Any, chat: bool) -> None:
        stats = final.stats if isinstance(final, Finished) else None
        usage = {
            "prompt_tokens": stats.prompt_tokens if stats else 0,
            "completion_tokens": stats.completion_tokens if stats else 0,
        }
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        choice.update(
            {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        )
        self._json(200, {"object": "chat.completion", "choices": [choice], "usage": usage})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--port-file", required=True, type=Path)
    parser.add_argument("--key")
    parser.add_argument("--pace-ms", type=float, default=0.0)
    parser.add_argument("--ctx", type=int, default=512)
    args = parser.parse_args(argv)

    engine = EngineClient(args.port_file.parent / "stub-logs")
    engine.load(args.model, LoadParams(n_ctx=args.ctx, n_parallel=4))
    Handler.engine = engine
    Handler.key = args.key
    Handler.pace_s = args.pace_ms / 1000.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, args.port_file)  # appears whole: the test polls for it
    # Exit when the parent test process goes away (stdin closes), like the engine worker.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    try:
        server.serve_forever()
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
