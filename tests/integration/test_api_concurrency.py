"""Many clients at once: complete streams, prompt cancellation, a bounded queue, clean stops."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.backend.engine.types import EngineState, GenerationRequest, SamplingParams
from app.backend.server.runner import ServerState
from tests.helpers.api_server import TINY, TOOLS, Api, serve, start_api, tiny_home

pytest.importorskip("llama_cpp")

LONG = TOOLS  # the tool twin has a 4096-token context: long enough to still be running


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from serve(tiny_home(tmp_path / "home", tool_template="{{ messages[0].content }}"))


# A random tiny model may hit its end-of-text token at any time; a long fixed-length string
# forced by the grammar keeps a "long" generation running for seconds, reliably.
LONG_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "long",
        "schema": {"type": "string", "minLength": 3000, "maxLength": 3000},
    },
}


def chat_body(model: str, max_tokens: int, stream: bool = True) -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Tell me a story"}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }
    if max_tokens >= 1000:
        body["response_format"] = LONG_FORMAT
    return body


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def server_tasks(api: Api) -> int:
    loop = api.runner._loop
    assert loop is not None

    async def count() -> int:
        return len(asyncio.all_tasks())

    return asyncio.run_coroutine_threadsafe(count(), loop).result(5)


async def read_stream(client: httpx.AsyncClient, url: str, body: dict, cut: int | None) -> dict:
    """One SSE client; ``cut``: disconnect after that many chunks."""
    text, finish, done, chunks = [], None, False, 0
    async with client.stream("POST", url, json=body) as reply:
        assert reply.status_code == 200, await reply.aread()
        async for line in reply.aiter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            data = json.loads(line[6:])
            choice = data["choices"][0]
            text.append(choice["delta"].get("content") or "")
            finish = choice["finish_reason"] or finish
            chunks += 1
            if cut is not None and chunks >= cut:
                return {"cut": True}
    return {"cut": False, "text": "".join(text), "finish": finish, "done": done}


def test_100_streaming_clients_with_random_disconnects(api: Api) -> None:
    url = f"{api.url}/v1/chat/completions"
    body = chat_body(TINY, 24)
    reference = httpx.post(url, json={**body, "stream": False}, timeout=60).json()
    expected = reference["choices"][0]["message"]["content"]
    threads_before = {t.ident for t in threading.enumerate()}
    tasks_before = server_tasks(api)
    rng = random.Random(6)
    cuts = [rng.choice([None, None, None, 1, 2, 3]) for _ in range(100)]

    async def main() -> list[dict]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(*(read_stream(client, url, body, cut) for cut in cuts))

    results = asyncio.run(main())
    finished = [r for r in results if not r["cut"]]
    assert len(finished) == cuts.count(None)
    for result in finished:  # every stream that ran to the end is the whole reply
        assert result["done"] and result["finish"] == "length"
        assert result["text"] == expected
    service = api.runner.service
    assert service is not None
    engine = api.core.engines.get(TINY)
    assert engine is not None
    assert wait_for(lambda: engine.in_flight() == 0, 10)
    assert wait_for(lambda: service.stats().running == 0 and service.stats().queued == 0, 10)
    assert wait_for(lambda: server_tasks(api) <= tasks_before, 5)
    leaked = [
        t for t in threading.enumerate() if t.ident not in threads_before and t.name != "asyncio_0"
    ]
    assert wait_for(lambda: not [t for t in leaked if t.is_alive()], 10), leaked
    assert not service._handles


def test_a_client_that_disconnects_cancels_its_generation_promptly(api: Api) -> None:
    url = f"{api.url}/v1/chat/completions"
    with httpx.stream("POST", url, json=chat_body(LONG, 4000), timeout=60) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: ") and '"content":""' not in line:
                break
        engine = api.core.engines.get(LONG)
        assert engine is not None and engine.in_flight() == 1
    closed = time.monotonic()
    assert wait_for(lambda: engine.in_flight() == 0, 5)
    assert time.monotonic() - closed < 2.0
    entry = api.runner.request_log.entries()[-1]
    assert entry.path == "/v1/chat/completions" and entry.tokens_out < 4000


def test_a_non_streaming_client_that_leaves_cancels_too(api: Api) -> None:
    url = f"{api.url}/v1/chat/completions"
    httpx.post(url, json=chat_body(LONG, 1, stream=False), timeout=60)  # load it first
    engine = api.core.engines.get(LONG)
    assert engine is not None
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json=chat_body(LONG, 4000, stream=False), timeout=0.5)
    left = time.monotonic()
    assert wait_for(lambda: engine.in_flight() == 0, 5)
    assert time.monotonic() - left < 2.0


def test_a_full_queue_is_a_503_with_an_error_body(api: Api) -> None:
    api.core.settings.server.max_parallel = 1
    api.core.settings.server.max_queue = 1
    url = f"{api.url}/v1/chat/completions"
    httpx.post(url, json=chat_body(LONG, 1, stream=False), timeout=60)
    service = api.runner.service
    assert service is not None
    with httpx.Client(timeout=60) as first, httpx.Client(timeout=60) as second:
        running = first.send(
            first.build_request("POST", url, json=chat_body(LONG, 4000)), stream=True
        )
        assert wait_for(lambda: service.stats().running == 1, 5)

        def wait_in_line() -> None:
            try:
                second.post(url, json=chat_body(LONG, 4000, stream=False))
            except httpx.HTTPError:
                pass  # closed below, while still waiting

        waiting = threading.Thread(target=wait_in_line, daemon=True)
        waiting.start()
        assert wait_for(lambda: service.stats().queued == 1, 5)
        refused = httpx.post(url, json=chat_body(LONG, 5), timeout=10)
        assert refused.status_code == 503
        assert "busy" in refused.json()["error"]["message"]
        anthropic_refused = httpx.post(
            f"{api.url}/v1/messages",
            json={"model": LONG, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        )
        assert anthropic_refused.json()["error"]["type"] == "overloaded_error"
        running.close()
        second.close()
    assert wait_for(lambda: service.stats().running == 0 and service.stats().queued == 0, 10)


def test_concurrent_first_requests_cause_one_load(api: Api) -> None:
    loads: list[str] = []
    api.core.engines.add_listener(
        lambda model_id, status: (
            loads.append(model_id) if status.state is EngineState.LOADING else None
        )
    )
    url = f"{api.url}/v1/completions"

    async def main() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            body = {"model": TINY, "prompt": "x", "max_tokens": 2}
            replies = await asyncio.gather(*(client.post(url, json=body) for _ in range(6)))
            return [r.status_code for r in replies]

    assert asyncio.run(main()) == [200] * 6
    assert loads == [TINY]


def test_the_chat_waits_behind_at_most_max_parallel_api_requests(api: Api) -> None:
    api.core.settings.server.max_parallel = 2
    url = f"{api.url}/v1/chat/completions"
    httpx.post(url, json=chat_body(LONG, 1, stream=False), timeout=60)
    engine = api.core.engines.get(LONG)
    service = api.runner.service
    assert engine is not None and service is not None
    served_before = service.served

    async def flood() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            body = chat_body(LONG, 150, stream=False)
            await asyncio.gather(*(client.post(url, json=body) for _ in range(12)))

    thread = threading.Thread(target=lambda: asyncio.run(flood()))
    thread.start()
    assert wait_for(lambda: service.stats().queued >= 5, 10)
    chat = engine.submit(GenerationRequest("Hello", SamplingParams(max_tokens=5, temperature=0)))
    chat.collect(60)  # the chat's own request, straight to the engine like the chat page
    api_done_when_chat_done = service.served - served_before
    thread.join(120)
    assert api_done_when_chat_done <= 4  # at most the two running plus two handed over


def test_stopping_the_server_ends_running_streams_cleanly_and_frees_the_port(
    tmp_path: Path,
) -> None:
    api = start_api(tiny_home(tmp_path / "home", tool_template="{{ messages[0].content }}"))
    port = api.port
    url = f"{api.url}/v1/chat/completions"
    httpx.post(url, json=chat_body(LONG, 1, stream=False), timeout=60)
    results: list[dict] = []

    async def clients() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            results.extend(
                await asyncio.gather(
                    *(read_stream(client, url, chat_body(LONG, 4000), None) for _ in range(3))
                )
            )

    thread = threading.Thread(target=lambda: asyncio.run(clients()))
    thread.start()
    service = api.runner.service
    assert service is not None
    assert wait_for(lambda: service.stats().running >= 1, 10)
    time.sleep(0.2)
    api.runner.stop()
    assert api.runner.state is ServerState.STOPPED
    thread.join(30)
    assert len(results) == 3
    for result in results:  # each stream got its final chunk and [DONE]: a clean end
        assert result["done"] and result["finish"] is not None
    with socket.socket() as probe:  # nobody listens there any more (TIME_WAIT aside)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    engine = api.core.engines.get(LONG)
    assert engine is not None and wait_for(lambda: engine.in_flight() == 0, 5)
    api.core.close()
