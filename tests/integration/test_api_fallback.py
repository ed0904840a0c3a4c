"""Hybrid fallback and remote models through Hearth's API, against a real OpenAI-compatible
server on loopback (a second process streaming real generations from the tiny model).

Covered: a local model that is not loaded answered by its rule's remote model (OpenAI,
Anthropic and Ollama dialects, streaming and not: header, ``model`` field, request log, usage
and audit under the remote engine); the same request answered locally once the rule is gone;
a busy local engine handing the next request to the remote; remote ids on the Anthropic and
Ollama routes; and the remote going away mid-stream (a clean error event, the server stays up).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import keyring
import openai
import pytest
from keyring.backends import fail

from app.backend.engine.types import (
    Failed,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)
from app.backend.remote import RemoteRegistry
from app.backend.secrets import SecretStore
from app.backend.server.request_log import LogEntry
from app.backend.settings import SettingsStore
from app.backend.settings.schema import FallbackRule
from tests.helpers.api_server import TINY, Api, start_api
from tests.helpers.gguf_factory import write_tiny_llama
from tests.integration.test_remote_engine import KEY, LONG, REMOTE_ID, Stub, start_stub

pytest.importorskip("llama_cpp")

HELLO = [{"role": "user", "content": "Say something"}]


@pytest.fixture
def no_keyring() -> Iterator[None]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # headless: the consented private file holds the key
    yield
    keyring.set_keyring(original)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Stub]:
    model = write_tiny_llama(tmp_path / "remote-model" / "tiny-F32.gguf", n_ctx_train=4096)
    server = start_stub(tmp_path, model, pace_ms=15)
    yield server
    server.kill()


def _home(tmp_path: Path, remote: Stub, rule: FallbackRule | None) -> Path:
    root = tmp_path / "home"
    # A 4K context, so a long local generation keeps the engine busy for seconds.
    write_tiny_llama(root / "models" / "acme" / "tiny" / "tiny-F32.gguf", n_ctx_train=4096)
    store = SettingsStore(root / "settings.json")
    registry = RemoteRegistry(store, SecretStore(fallback_path=root / "secrets.json"))
    registry.save("stub", remote.base_url, api_key=KEY, allow_file=True)
    registry.close()
    if rule is not None:
        store.update(lambda s: s.fallback.__setitem__(TINY, rule))
    return root


def _entries(api: Api, path: str, count: int) -> list[LogEntry]:
    """The request log's entries for ``path`` once ``count`` of them are there."""
    deadline = time.monotonic() + 10
    while True:
        found = [e for e in api.runner.request_log.entries() if e.path == path]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_model_that_is_not_loaded_is_answered_by_its_fallback(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    root = _home(tmp_path, remote, FallbackRule(remote_model=REMOTE_ID))
    api = start_api(root)
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model=TINY, messages=HELLO, max_tokens=8, temperature=0
        )
        reply = raw.parse()
        assert raw.headers["x-hearth-answered-by"] == REMOTE_ID
        assert "not loaded" in raw.headers["x-hearth-fallback"]
        assert reply.model == REMOTE_ID and reply.choices[0].message.content
        assert reply.usage is not None and 1 <= reply.usage.completion_tokens <= 8
        # The same messages sent to the remote id directly give the same (greedy) reply.
        direct = client.chat.completions.create(
            model=REMOTE_ID, messages=HELLO, max_tokens=8, temperature=0
        )
        assert direct.choices[0].message.content == reply.choices[0].message.content
        assert api.core.engines.get(TINY) is None  # the rule answered without loading it

        # Streaming: the header is settled before the first byte, the text is the remote's.
        with httpx.stream(
            "POST",
            f"{api.url}/v1/chat/completions",
            json={"model": TINY, "messages": HELLO, "max_tokens": 8, "temperature": 0,
                  "stream": True},
            timeout=60,
        ) as response:  # fmt: skip
            assert response.headers["x-hearth-answered-by"] == REMOTE_ID
            lines = [ln[6:] for ln in response.iter_lines() if ln.startswith("data: ")]
        assert lines[-1] == "[DONE]"
        chunks = [json.loads(ln) for ln in lines[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert text == reply.choices[0].message.content
        assert {c["model"] for c in chunks} == {REMOTE_ID}

        # The other dialects go through the same rule.
        claude = anthropic.Anthropic(base_url=api.url, api_key="unused", max_retries=0)
        message = claude.messages.create(
            model=TINY,
            messages=HELLO,
            max_tokens=8,
            extra_body={"temperature": 0},  # type: ignore[arg-type]
        )
        assert message.model == REMOTE_ID
        assert message.content[0].text == reply.choices[0].message.content  # type: ignore[union-attr]
        ollama = httpx.post(
            f"{api.url}/api/chat",
            json={"model": TINY, "messages": HELLO, "stream": False,
                  "options": {"temperature": 0, "num_predict": 8}},
            timeout=60,
        )  # fmt: skip
        assert ollama.status_code == 200 and ollama.headers["x-hearth-answered-by"] == REMOTE_ID
        assert ollama.json()["message"]["content"] == reply.choices[0].message.content

        # The request log says so for each, and usage/audit count the remote engine.
        logged = _entries(api, "/v1/chat/completions", 3)
        routed = [e for e in logged if e.fallback]
        assert len(routed) == 2  # the non-streamed and the streamed request, not the direct one
        for entry in routed:
            assert entry.model == REMOTE_ID and entry.engine == "remote:stub"
            assert entry.fallback == f"Answered by {REMOTE_ID}: {TINY} is not loaded."
        assert "not loaded" in _entries(api, "/v1/messages", 1)[0].fallback
        assert "not loaded" in _entries(api, "/api/chat", 1)[0].fallback
        records = api.core.usage.store.records()
        assert records and {(r.model_id, r.engine) for r in records} == {(REMOTE_ID, "remote:stub")}
        first = records[0]
        assert (first.prompt_tokens, first.completion_tokens) == (
            reply.usage.prompt_tokens, reply.usage.completion_tokens,
        )  # fmt: skip
        audit = [e for e in api.core.audit.entries() if e["path"] == "/v1/chat/completions"]
        assert {e["engine"] for e in audit} == {"remote:stub"}

        # Without the rule the same request loads the local model and is answered here.
        api.core.settings_store.update(lambda s: s.fallback.clear())
        raw = client.chat.completions.with_raw_response.create(
            model=TINY, messages=HELLO, max_tokens=4, temperature=0
        )
        assert raw.headers["x-hearth-answered-by"] == TINY
        assert "x-hearth-fallback" not in raw.headers
        assert raw.parse().model == TINY and api.core.engines.get(TINY) is not None
        last = _entries(api, "/v1/chat/completions", 4)[-1]
        assert (last.model, last.fallback) == (TINY, "")
    finally:
        api.stop()


def test_a_busy_local_engine_hands_the_next_request_to_the_remote(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=False, busy_in_flight=1)
    api = start_api(_home(tmp_path, remote, rule))
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        # Not loaded, but the rule does not cover that: loaded on demand and answered here.
        first = client.chat.completions.with_raw_response.create(
            model=TINY, messages=HELLO, max_tokens=4, temperature=0
        )
        assert first.headers["x-hearth-answered-by"] == TINY
        engine = api.core.engines.get(TINY)
        assert engine is not None
        # One long generation running locally: the threshold (1) is reached.
        long = engine.submit(
            GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
        )
        events = long.events(timeout=60)
        assert isinstance(next(events), TokenChunk)
        try:
            busy = client.chat.completions.with_raw_response.create(
                model=TINY, messages=HELLO, max_tokens=6, temperature=0
            )
            assert busy.headers["x-hearth-answered-by"] == REMOTE_ID
            assert "busy (1 requests running)" in busy.headers["x-hearth-fallback"]
            assert busy.parse().choices[0].message.content
        finally:
            long.cancel()
        entry = _entries(api, "/v1/chat/completions", 2)[-1]
        assert entry.engine == "remote:stub" and "busy" in entry.fallback
    finally:
        api.stop()


def test_a_busy_request_does_not_wait_in_the_local_line(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    """One API slot per model (max_parallel 1) and a threshold of 2: the request that finds
    2 running goes to the remote at once instead of queueing for the local slot."""
    rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=False, busy_in_flight=2)
    root = _home(tmp_path, remote, rule)
    SettingsStore(root / "settings.json").update(lambda s: setattr(s.server, "max_parallel", 1))
    api = start_api(root)
    try:
        assert api.core.settings.server.max_parallel == 1
        model = api.core.library.resolve(TINY)
        engine = api.core.engines.load(model, LoadParams(n_ctx=4096, n_parallel=1))
        long = engine.submit(
            GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
        )
        events = long.events(timeout=60)
        assert isinstance(next(events), TokenChunk)
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        first: list[Any] = []
        queued = threading.Thread(
            target=lambda: first.append(
                client.chat.completions.with_raw_response.create(
                    model=TINY, messages=HELLO, max_tokens=4, temperature=0
                )
            )
        )
        queued.start()  # 1 running < 2: local, takes the one API slot, waits in the engine
        deadline = time.monotonic() + 30
        while engine.in_flight() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.in_flight() == 2
        try:
            busy = client.chat.completions.with_raw_response.create(
                model=TINY, messages=HELLO, max_tokens=4, temperature=0, timeout=30
            )
            assert busy.headers["x-hearth-answered-by"] == REMOTE_ID
            assert "busy (2 requests running)" in busy.headers["x-hearth-fallback"]
            assert engine.in_flight() == 2 and not first  # the long one still holds the engine
        finally:
            long.cancel()
        queued.join(60)
        assert first and first[0].headers["x-hearth-answered-by"] == TINY
    finally:
        api.stop()


def test_a_local_engine_failing_before_the_first_token_hands_over_to_the_remote(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=False)  # on_failure is on
    api = start_api(_home(tmp_path, remote, rule))
    try:
        model = api.core.library.resolve(TINY)
        engine = api.core.engines.load(model, LoadParams(n_ctx=4096, n_parallel=1))
        long = engine.submit(
            GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
        )
        events = long.events(timeout=60)
        assert isinstance(next(events), TokenChunk)
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        answers: list[Any] = []

        def ask() -> None:  # queued behind the long request (one sequence): no token yet
            try:
                answers.append(
                    client.chat.completions.with_raw_response.create(
                        model=TINY, messages=HELLO, max_tokens=6, temperature=0
                    )
                )
            except Exception as exc:
                answers.append(exc)

        asker = threading.Thread(target=ask)
        asker.start()
        deadline = time.monotonic() + 30
        while engine.in_flight() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.in_flight() == 2 and engine.engine_pid is not None
        os.kill(engine.engine_pid, signal.SIGKILL)
        asker.join(60)
        [raw] = answers
        assert not isinstance(raw, Exception), raw
        assert raw.headers["x-hearth-answered-by"] == REMOTE_ID
        assert "the local engine failed" in raw.headers["x-hearth-fallback"]
        assert raw.parse().choices[0].message.content
        long_final = [e for e in events if not isinstance(e, TokenChunk)][-1]
        assert isinstance(long_final, Failed) and long_final.engine_crashed
        entry = _entries(api, "/v1/chat/completions", 1)[-1]
        assert entry.engine == "remote:stub" and "the local engine failed" in entry.fallback
    finally:
        api.stop()


def test_no_first_token_in_time_moves_a_streamed_request_to_the_remote(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=False, first_token_timeout_s=1.0)
    api = start_api(_home(tmp_path, remote, rule))
    try:
        model = api.core.library.resolve(TINY)
        engine = api.core.engines.load(model, LoadParams(n_ctx=4096, n_parallel=1))
        long = engine.submit(
            GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
        )
        events = long.events(timeout=60)
        assert isinstance(next(events), TokenChunk)
        body = {"model": TINY, "messages": HELLO, "max_tokens": 6, "temperature": 0,
                "stream": True}  # fmt: skip
        started = time.monotonic()
        try:
            with httpx.stream(
                "POST", f"{api.url}/v1/chat/completions", json=body, timeout=60
            ) as response:
                waited = time.monotonic() - started
                assert response.headers["x-hearth-answered-by"] == REMOTE_ID
                assert (
                    "no token from the local engine within 1 s"
                    in (response.headers["x-hearth-fallback"])
                )
                lines = [ln[6:] for ln in response.iter_lines() if ln.startswith("data: ")]
            deadline = time.monotonic() + 10
            while engine.in_flight() > 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert engine.in_flight() == 1  # the local attempt was withdrawn; the long one runs
        finally:
            long.cancel()
        assert 1.0 <= waited < 20
        assert lines[-1] == "[DONE]"
        text = "".join(
            json.loads(ln)["choices"][0]["delta"].get("content") or "" for ln in lines[:-1]
        )
        assert text
    finally:
        api.stop()


def test_remote_models_answer_on_the_anthropic_and_ollama_routes(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    api = start_api(_home(tmp_path, remote, None))
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        expected = (
            client.chat.completions.create(
                model=REMOTE_ID, messages=HELLO, max_tokens=8, temperature=0
            )
            .choices[0]
            .message.content
        )
        assert expected

        claude = anthropic.Anthropic(base_url=api.url, api_key="unused", max_retries=0)
        message = claude.messages.create(
            model=REMOTE_ID,
            messages=HELLO,
            max_tokens=8,
            extra_body={"temperature": 0},  # type: ignore[arg-type]
        )
        assert message.model == REMOTE_ID
        assert message.content[0].text == expected  # type: ignore[union-attr]
        assert 1 <= message.usage.output_tokens <= 8
        with claude.messages.stream(
            model=REMOTE_ID,
            messages=HELLO,
            max_tokens=8,
            extra_body={"temperature": 0},  # type: ignore[arg-type]
        ) as stream:
            streamed = "".join(stream.text_stream)
        assert streamed == expected
        with pytest.raises(anthropic.BadRequestError, match="not forwarded"):
            claude.messages.create(
                model=REMOTE_ID, messages=HELLO, max_tokens=8,  # type: ignore[arg-type]
                tools=[{"name": "f", "input_schema": {"type": "object"}}],
            )  # fmt: skip

        tags = httpx.get(f"{api.url}/api/tags", timeout=30).json()["models"]
        assert [m["name"] for m in tags] == [TINY, REMOTE_ID]
        shown = httpx.post(f"{api.url}/api/show", json={"model": REMOTE_ID}, timeout=30).json()
        assert shown["capabilities"] == ["completion"]
        options = {"temperature": 0, "num_predict": 8}
        body = {"model": REMOTE_ID, "messages": HELLO, "options": options}
        whole = httpx.post(f"{api.url}/api/chat", json={**body, "stream": False}, timeout=60)
        assert whole.json()["message"]["content"] == expected
        assert whole.json()["eval_count"] >= 1
        with httpx.stream("POST", f"{api.url}/api/chat", json=body, timeout=60) as response:
            lines = [json.loads(ln) for ln in response.iter_lines() if ln]
        assert lines[-1]["done"] is True and lines[-1]["model"] == REMOTE_ID
        assert "".join(ln["message"]["content"] for ln in lines) == expected
        generated = httpx.post(
            f"{api.url}/api/generate",
            json={"model": REMOTE_ID, "prompt": "Say something", "stream": False,
                  "options": options},
            timeout=60,
        )  # fmt: skip
        assert generated.json()["response"] == expected  # one user turn, as in the chat
        refused = httpx.post(
            f"{api.url}/api/chat", json={**body, "stream": False, "format": "json"}, timeout=30
        )
        assert refused.status_code == 400 and "not forwarded" in refused.json()["error"]
        assert api.core.engines.get(TINY) is None  # nothing was loaded for any of it
    finally:
        api.stop()


def test_the_remote_going_away_mid_stream_ends_the_stream_cleanly(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    api = start_api(_home(tmp_path, remote, FallbackRule(remote_model=REMOTE_ID)))
    try:
        received: list[str] = []
        body = {"model": TINY, "messages": HELLO, "max_tokens": 400, "temperature": 0,
                "stream": True}  # fmt: skip
        with httpx.stream(
            "POST", f"{api.url}/v1/chat/completions", json=body, timeout=60
        ) as response:
            assert response.headers["x-hearth-answered-by"] == REMOTE_ID  # via the fallback
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                received.append(line[6:])
                if len(received) == 4:  # the role chunk and three pieces of text
                    remote.kill()
        events = [json.loads(x) for x in received if x != "[DONE]"]
        assert "[DONE]" not in received
        assert "went away mid-reply" in events[-1]["error"]["message"]
        assert all("choices" in e for e in events[:-1]) and len(events) >= 5
        # The server is still up and answers (the remote is now simply unreachable).
        assert httpx.get(f"{api.url}/v1/models", timeout=30).status_code == 200
        gone = httpx.post(
            f"{api.url}/v1/chat/completions",
            json={"model": REMOTE_ID, "messages": HELLO, "max_tokens": 4}, timeout=30,
        )  # fmt: skip
        assert gone.status_code == 503 and "Could not reach" in gone.json()["error"]["message"]
        routed = httpx.post(
            f"{api.url}/v1/chat/completions",
            json={"model": TINY, "messages": HELLO, "max_tokens": 4, "stream": True}, timeout=30,
        )  # fmt: skip
        assert routed.status_code == 503  # a plain HTTP error: nothing was streamed yet
        message = routed.json()["error"]["message"]
        assert f"{TINY} is not loaded; its fallback {REMOTE_ID} failed: Could not reach" in message
        entry = _entries(api, "/v1/chat/completions", 1)[0]
        assert entry.engine == "remote:stub" and "not loaded" in entry.fallback
    finally:
        api.stop()
