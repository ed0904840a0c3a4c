"""RemoteEngine's OpenAI streaming protocol handling, over httpx's in-process transport.

The real server on loopback (and it going away mid-stream) is in
tests/integration/test_remote_engine.py; here: SSE details, errors, estimates, the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from app.backend.engine.types import Failed, Finished, GenerationRequest, SamplingParams
from app.backend.remote import ChatRequest, RemoteEngine, RemoteError

KEY = "sk-test-DoNotLeak-123"


def _sse(*chunks: object, done: bool = True) -> bytes:
    out = b": a comment the client must skip\n\n"
    for chunk in chunks:
        out += b"data: " + json.dumps(chunk).encode() + b"\n\n"
    if done:
        out += b"data: [DONE]\n\n"
    return out


def _delta(text: str, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


class Server:
    def __init__(self, body: bytes | Iterator[bytes], status: int = 200) -> None:
        self.body, self.status = body, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "b"}, {"id": "a"}]})
        return httpx.Response(
            self.status, content=self.body, headers={"content-type": "text/event-stream"}
        )


def _engine(server: Server, key: str | None = KEY) -> RemoteEngine:
    return RemoteEngine(
        "lab", "http://lab.test/v1/", "llama", key, transport=httpx.MockTransport(server)
    )


def test_chat_stream_with_usage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = Server(
        _sse(
            _delta("Hel"),
            _delta("lo"),
            _delta("", "stop"),
            {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
        )
    )
    engine = _engine(server)
    sampling = SamplingParams(
        temperature=0.2, max_tokens=9, top_k=5, stop=["a", "b", "c", "d", "e"]
    )
    handle = engine.submit(ChatRequest([{"role": "user", "content": "hi"}], sampling))
    text, final = handle.collect(timeout=10)
    assert text == "Hello"
    assert isinstance(final, Finished) and final.stop_reason == "eos"
    assert (final.stats.prompt_tokens, final.stats.completion_tokens) == (7, 3)
    sent = server.requests[0]
    assert sent.url.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(sent.content)
    assert body["model"] == "llama" and body["stream"] is True
    assert body["stop"] == ["a", "b", "c", "d"]  # OpenAI takes at most four
    assert "top_k" not in body  # cloud APIs refuse llama.cpp's extras
    assert KEY not in caplog.text and KEY not in repr(engine)
    assert engine.in_flight() == 0


def test_completion_stream_estimates_counts_without_usage() -> None:
    server = Server(
        _sse(
            {"choices": [{"text": "one", "finish_reason": None}]},
            {"choices": [{"text": " two", "finish_reason": "length"}]},
        )
    )
    handle = _engine(server, key=None).submit(GenerationRequest("x" * 40))
    text, final = handle.collect(timeout=10)
    assert text == "one two" and isinstance(final, Finished)
    assert final.stop_reason == "max_tokens"
    assert (final.stats.prompt_tokens, final.stats.completion_tokens) == (10, 2)
    assert server.requests[0].url.path == "/v1/completions"
    assert "authorization" not in server.requests[0].headers


def test_refusal_reports_the_servers_message_not_the_key() -> None:
    body = json.dumps({"error": {"message": "Invalid API key", "type": "auth"}}).encode()
    handle = _engine(Server(body, status=401)).submit(GenerationRequest("hi"))
    _, final = handle.collect(timeout=10)
    assert isinstance(final, Failed) and "Invalid API key" in final.message
    assert KEY not in final.message


def test_stream_that_ends_without_done_is_a_remote_gone_away() -> None:
    handle = _engine(Server(_sse(_delta("par"), done=False))).submit(GenerationRequest("hi"))
    text, final = handle.collect(timeout=10)
    assert text == "par"
    assert isinstance(final, Failed) and final.engine_crashed
    assert "went away mid-reply after 1 tokens" in final.message


def test_error_chunk_mid_stream() -> None:
    body = _sse(_delta("a"), {"error": {"message": "overloaded"}}, done=False)
    _, final = _engine(Server(body)).submit(GenerationRequest("hi")).collect(timeout=10)
    assert isinstance(final, Failed) and "overloaded" in final.message


def test_unreachable_endpoint_fails_cleanly() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    engine = RemoteEngine("lab", "http://lab.test/v1", "m", transport=httpx.MockTransport(refuse))
    _, final = engine.submit(GenerationRequest("hi")).collect(timeout=10)
    assert isinstance(final, Failed) and "Could not reach the remote engine 'lab'" in final.message
    with pytest.raises(RemoteError, match="Could not reach 'lab'"):
        engine.list_models()


def test_list_models_and_guard() -> None:
    assert _engine(Server(b"")).list_models() == ["a", "b"]
    calls: list[str] = []

    def guard(what: str) -> None:
        calls.append(what)
        raise PermissionError(what)

    engine = RemoteEngine(
        "lab", "http://x/v1", "m", transport=httpx.MockTransport(Server(b"")), guard=guard
    )
    with pytest.raises(PermissionError):
        engine.submit(GenerationRequest("hi"))
    assert calls == ["The remote engine 'lab'"]
