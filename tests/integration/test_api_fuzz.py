"""Every field of every generating endpoint gets odd JSON values: nothing may answer 5xx.

Slow (~1,300 requests); run with ``pytest -m slow``. It found ``/api/show`` answering 500
to a model that was a number (fixed; the fast check is in test_api_security.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers.api_server import TINY, Api, serve, tiny_home
from tests.unit.backend.templates.test_templates_real_world import LLAMA_31

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

ODD: list[Any] = [None, True, False, 0, -1, 1.5, -1e308, 1e308, 2**70, "", "x" * 10_000,
                  "\u0000", [], {}, [1], {"a": 1}, [[[]]], "NaN"]  # fmt: skip
CHAT = [{"role": "user", "content": "hi"}]
ENDPOINTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "/v1/chat/completions": (
        {"model": TINY, "messages": CHAT, "max_tokens": 3},
        ["model", "messages", "max_tokens", "temperature", "top_p", "top_k", "min_p", "stop",
         "seed", "stream", "stream_options", "n", "tools", "tool_choice", "response_format",
         "presence_penalty", "frequency_penalty", "repeat_penalty", "max_completion_tokens",
         "logit_bias", "user", "logprobs"],
    ),
    "/v1/completions": (
        {"model": TINY, "prompt": "hi", "max_tokens": 3},
        ["model", "prompt", "max_tokens", "temperature", "stop", "seed", "stream", "echo", "n",
         "suffix", "logprobs"],
    ),
    "/v1/responses": (
        {"model": TINY, "input": "hi", "max_output_tokens": 3},
        ["model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream",
         "text", "tools", "previous_response_id", "metadata"],
    ),
    "/v1/embeddings": ({"model": TINY, "input": "hi"}, ["model", "input", "encoding_format"]),
    "/v1/messages": (
        {"model": TINY, "messages": CHAT, "max_tokens": 3},
        ["model", "messages", "max_tokens", "system", "temperature", "stream", "stop_sequences",
         "tools", "top_k"],
    ),
    "/api/chat": (
        {"model": TINY, "messages": CHAT, "stream": False, "options": {"num_predict": 3}},
        ["model", "messages", "stream", "options", "format", "tools", "keep_alive"],
    ),
    "/api/generate": (
        {"model": TINY, "prompt": "hi", "stream": False, "options": {"num_predict": 3}},
        ["model", "prompt", "stream", "options", "format", "system", "raw", "keep_alive"],
    ),
    "/api/embed": ({"model": TINY, "input": "hi"}, ["model", "input"]),
    "/api/show": ({"model": TINY}, ["model", "name"]),
}  # fmt: skip
RAW_BODIES = [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"model": "' + b"a" * 100 + b'"}']


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tiny_home(tmp_path_factory.mktemp("fuzz-home"), tool_template=LLAMA_31))


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_odd_values_in_any_field_never_give_a_server_error(api: Api, path: str) -> None:
    base, fields = ENDPOINTS[path]
    failures = []
    with httpx.Client(timeout=60) as client:
        bodies = [json.dumps({**base, f: v}).encode() for f in fields for v in ODD]
        for raw in bodies + RAW_BODIES + [json.dumps([base]).encode()]:
            reply = client.post(f"{api.url}{path}", content=raw)
            if reply.status_code >= 500:
                failures.append((raw[:80], reply.status_code, reply.text[:120]))
    assert failures == []
