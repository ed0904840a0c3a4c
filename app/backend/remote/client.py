"""``RemoteEngine``: an OpenAI-compatible server behind the same shape as ``EngineClient``.

``submit(request, on_event) -> RequestHandle`` with ``TokenChunk``/``Finished``/``Failed``
events and ``cancel()``, so chat and API take either engine. Each request streams on its own
thread over one pooled ``httpx.Client``:

* a ``GenerationRequest`` (a rendered prompt) goes to ``/completions``;
* a ``ChatRequest`` (messages; the remote applies its own template) to ``/chat/completions``.

Cancelling closes the stream (the remote sees the disconnect and stops). A remote that goes
away mid-reply ends in ``Failed(engine_crashed=True)`` after the text it did send. Token counts
come from the stream's ``usage`` chunk when the server sends one, else they are estimated
(completion: one per streamed piece; prompt: characters / 4). The key is sent only as a Bearer
header and never logged or put in messages.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.backend.engine.client import RequestHandle
from app.backend.engine.types import (
    Event,
    Failed,
    Finished,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    StopReason,
    TokenChunk,
)

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class RemoteError(Exception):
    """A remote endpoint refused or could not be reached; ``str()`` is fit for the user."""


@dataclass
class ChatRequest:
    """Messages for ``/chat/completions`` (OpenAI shape: role + content)."""

    messages: list[dict[str, Any]]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    source: str = "chat"


FINISH_REASONS: dict[str, StopReason] = {
    "stop": "eos",
    "length": "max_tokens",
    "content_filter": "error",
}


def sampling_payload(sampling: SamplingParams) -> dict[str, Any]:
    """Only the OpenAI-standard fields: cloud APIs refuse llama.cpp's extras (top_k, min_p)."""
    payload: dict[str, Any] = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
    }
    if sampling.stop:
        payload["stop"] = sampling.stop[:4]
    if sampling.seed is not None:
        payload["seed"] = sampling.seed
    if sampling.frequency_penalty:
        payload["frequency_penalty"] = sampling.frequency_penalty
    if sampling.presence_penalty:
        payload["presence_penalty"] = sampling.presence_penalty
    return payload


def error_text(response: httpx.Response) -> str:
    """The message inside an OpenAI-style error body, else the status line."""
    try:
        body = response.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    except ValueError:
        pass
    return f"HTTP {response.status_code} {response.reason_phrase}"


class RemoteEngine:
    """One remote model on one endpoint; cheap to create, thread-safe."""

    def __init__(
        self,
        endpoint: str,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 120.0,
        guard: Callable[[str], None] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._key = api_key
        self._guard = guard
        self._own_client = client is None
        self._client = client or make_client(transport, connect_timeout_s, read_timeout_s)
        self._lock = threading.Lock()
        self._live: dict[str, _Stream] = {}

    def __repr__(self) -> str:  # never the key
        return f"RemoteEngine({self.endpoint!r}, {self.base_url!r}, {self.model!r})"

    @property
    def engine_name(self) -> str:
        return f"remote:{self.endpoint}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    # ----------------------------------------------------------------- requests
    def submit(
        self,
        request: GenerationRequest | ChatRequest,
        on_event: Callable[[Event], None] | None = None,
    ) -> RequestHandle:
        """Start streaming; events arrive on a worker thread (or queue up on the handle)."""
        if self._guard is not None:
            self._guard(f"The remote engine '{self.endpoint}'")
        request_id = f"x{next(_ids)}"
        handle = RequestHandle(request_id, self.cancel, on_event)
        if isinstance(request, ChatRequest):
            path = "/chat/completions"
            payload: dict[str, Any] = {"model": self.model, "messages": request.messages}
            prompt_chars = sum(len(str(m.get("content", ""))) for m in request.messages)
        else:
            path = "/completions"
            payload = {"model": self.model, "prompt": request.prompt}
            prompt_chars = len(request.prompt)
        payload.update(sampling_payload(request.sampling))
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        stream = _Stream(self, handle, path, payload, prompt_chars)
        with self._lock:
            self._live[request_id] = stream
        threading.Thread(target=stream.run, name=f"remote-{request_id}", daemon=True).start()
        return handle

    def cancel(self, request_id: str) -> None:
        with self._lock:
            stream = self._live.get(request_id)
        if stream is not None:
            stream.cancel()

    def in_flight(self) -> int:
        with self._lock:
            return len(self._live)

    def _forget(self, request_id: str) -> None:
        with self._lock:
            self._live.pop(request_id, None)

    def list_models(self) -> list[str]:
        """Model ids from ``GET /models``; raises ``RemoteError``."""
        if self._guard is not None:
            self._guard(f"The remote engine '{self.endpoint}'")
        return list_models(self._client, self.base_url, self.headers(), self.endpoint)

    def close(self) -> None:
        with self._lock:
            streams = list(self._live.values())
        for stream in streams:
            stream.cancel()
        if self._own_client:
            self._client.close()


def make_client(
    transport: httpx.BaseTransport | None = None,
    connect_timeout_s: float = 5.0,
    read_timeout_s: float = 120.0,
) -> httpx.Client:
    timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)


def list_models(
    client: httpx.Client,
    base_url: str,
    headers: dict[str, str],
    name: str,
    timeout_s: float = 10.0,
) -> list[str]:
    url = f"{base_url.rstrip('/')}/models"
    try:
        response = client.get(url, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise RemoteError(f"Could not reach '{name}' at {base_url}: {_why(exc)}") from None
    if response.status_code >= 400:
        raise RemoteError(f"'{name}' refused the model list: {error_text(response)}")
    try:
        data = response.json().get("data", [])
        return sorted(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))
    except (ValueError, AttributeError, TypeError):
        raise RemoteError(f"'{name}' did not answer with an OpenAI model list.") from None


def _why(exc: BaseException) -> str:
    """A short reason without URLs' query strings or headers (never the key)."""
    kind = type(exc).__name__
    text = str(exc).split("\n")[0][:160]
    return f"{kind}: {text}" if text else kind


class _Stream:
    """One streaming request on its worker thread."""

    def __init__(
        self,
        engine: RemoteEngine,
        handle: RequestHandle,
        path: str,
        payload: dict[str, Any],
        prompt_chars: int,
    ) -> None:
        self.engine = engine
        self.handle = handle
        self.path = path
        self.payload = payload
        self.prompt_chars = prompt_chars
        self.cancelled = threading.Event()
        self._response: httpx.Response | None = None
        self._lock = threading.Lock()
        self.pieces = 0
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.t0 = time.monotonic()
        self.first_token_at: float | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            response = self._response
        if response is not None:
            try:
                response.close()  # unblocks the reader: the remote sees the disconnect
            except Exception:
                pass

    def run(self) -> None:
        rid = self.handle.id
        name = self.engine.endpoint
        try:
            event = self._stream()
        except httpx.TimeoutException:
            event = Failed(rid, f"The remote engine '{name}' stopped answering (timed out).", True)
        except httpx.ConnectError as exc:
            event = Failed(rid, f"Could not reach the remote engine '{name}': {_why(exc)}", True)
        except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
            cancelled = self.cancelled.is_set()
            event = self._finished("cancelled") if cancelled else self._went_away(exc)
        except Exception as exc:  # a malformed stream must still end the request
            log.exception("Remote stream from %s failed", name)
            event = Failed(rid, f"The remote engine '{name}' sent something unexpected: {exc}")
        self.engine._forget(rid)
        self.handle.deliver(event)

    def _went_away(self, exc: BaseException | None) -> Failed:
        why = f" ({_why(exc)})" if exc is not None else ""
        return Failed(
            self.handle.id,
            f"The remote engine '{self.engine.endpoint}' went away mid-reply after "
            f"{self.pieces} tokens{why}.",
            engine_crashed=True,
        )

    def _stream(self) -> Event:
        url = self.engine.base_url + self.path
        request = self.engine._client.build_request(
            "POST", url, json=self.payload, headers=self.engine.headers()
        )
        response = self.engine._client.send(request, stream=True)
        with self._lock:
            self._response = response
        try:
            if self.cancelled.is_set():
                return self._finished("cancelled")
            if response.status_code >= 400:
                response.read()
                return Failed(
                    self.handle.id,
                    f"The remote engine '{self.engine.endpoint}' refused the request: "
                    f"{error_text(response)}",
                )
            done = False
            for data in _sse_data(response.iter_lines()):
                if self.cancelled.is_set():
                    return self._finished("cancelled")
                if data == "[DONE]":
                    done = True
                    break
                failed = self._on_chunk(json.loads(data))
                if failed is not None:
                    return failed
        finally:
            response.close()
        if self.cancelled.is_set():
            return self._finished("cancelled")
        if not done and self.finish_reason is None:
            return self._went_away(None)
        return self._finished(FINISH_REASONS.get(self.finish_reason or "stop", "eos"))

    def _on_chunk(self, chunk: Any) -> Failed | None:
        if not isinstance(chunk, dict):
            return None
        if chunk.get("error"):
            err = chunk["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            return Failed(self.handle.id, f"The remote engine reported: {message}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            if text:
                if self.first_token_at is None:
                    self.first_token_at = time.monotonic()
                self.pieces += 1
                self.handle.deliver(TokenChunk(self.handle.id, str(text), 1))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return None

    def _finished(self, reason: StopReason) -> Finished:
        total = time.monotonic() - self.t0
        usage = self.usage or {}
        completion = int(usage.get("completion_tokens") or self.pieces)
        prompt = int(usage.get("prompt_tokens") or round(self.prompt_chars / 4))
        ttft = (self.first_token_at - self.t0) if self.first_token_at else 0.0
        gen_time = total - ttft
        stats = GenerationStats(
            prompt_tokens=prompt,
            completion_tokens=completion,
            time_to_first_token_s=ttft,
            tokens_per_second=completion / gen_time if gen_time > 0 and completion else 0.0,
            total_time_s=total,
        )
        return Finished(self.handle.id, reason, stats)


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent event stream (multi-line data joined)."""
    parts: list[str] = []
    for line in lines:
        if not line:
            if parts:
                yield "\n".join(parts)
                parts = []
            continue
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            parts.append(line[5:].lstrip(" "))
    if parts:
        yield "\n".join(parts)
