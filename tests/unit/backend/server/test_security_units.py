"""Pure pieces of the security gate, errors and grammars (the live probes are integration)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.backend.server.admission import Admission, QueueFull
from app.backend.server.errors import dialect_for, error_body, scrub
from app.backend.server.grammars import forced_functions, parse_tool_calls, tool_call_grammar
from app.backend.server.security import SecurityPolicy, host_name, presented_token
from app.backend.server.tokens import TokenStore


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:4327", "localhost"),
        ("LOCALHOST", "localhost"),
        ("[::1]:4327", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("", ""),
        ("[::1", ""),
    ],
)
def test_host_name(header: str, host: str) -> None:
    assert host_name(header) == host


def test_host_allowlist(tmp_path: Path) -> None:
    policy = SecurityPolicy(TokenStore.in_root(tmp_path), extra_hosts=["my-box.local"])
    for ok in ("localhost:1", "127.0.0.1:1", "[::1]:1", "192.168.1.9:1", "my-box.local"):
        assert policy.host_allowed(ok), ok
    for bad in ("", "evil.localhost", "localhost.evil.com", "attacker.example", "localhost."):
        assert not policy.host_allowed(bad), bad


def test_origin_allowlist_is_exact(tmp_path: Path) -> None:
    policy = SecurityPolicy(TokenStore.in_root(tmp_path), cors_origins=["https://a.example/"])
    assert policy.origin_allowed("https://a.example")
    assert not policy.origin_allowed("https://a.example.evil.com")
    assert not policy.origin_allowed("null")


def test_presented_token() -> None:
    assert presented_token({"authorization": "Bearer abc"}) == "abc"
    assert presented_token({"authorization": "bearer  abc "}) == "abc"
    assert presented_token({"x-api-key": "k"}) == "k"
    assert presented_token({"authorization": "Basic abc"}) is None


def test_error_bodies_per_dialect_never_carry_paths() -> None:
    message = "Failed to load /home/alice/models/x.gguf and C:\\Users\\bob\\m.gguf"
    assert "/home" not in scrub(message) and "Users" not in scrub(message)
    assert dialect_for("/api/chat") == "ollama"
    assert dialect_for("/v1/messages") == "anthropic"
    assert dialect_for("/v1/chat/completions") == "openai"
    assert set(error_body("ollama", 404, message)) == {"error"}
    assert error_body("anthropic", 503, "x")["error"]["type"] == "overloaded_error"
    assert error_body("openai", 404, "x")["error"]["type"] == "not_found_error"


def test_tool_calls_are_parsed_in_the_common_shapes() -> None:
    functions = [{"name": "get_weather", "parameters": {"type": "object"}}]
    llama = parse_tool_calls('{"name": "get_weather", "parameters": {"city": "Bern"}}', functions)
    assert llama and llama[0].arguments == {"city": "Bern"}
    hermes = parse_tool_calls(
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Bern"}}\n</tool_call>',
        functions,
    )
    assert hermes and json.loads(hermes[0].openai()["function"]["arguments"]) == {"city": "Bern"}
    tagged = parse_tool_calls('<|python_tag|>{"name": "get_weather", "parameters": {}}', functions)
    assert tagged and tagged[0].name == "get_weather"
    assert parse_tool_calls("It is sunny.", functions) is None
    assert parse_tool_calls('{"name": "rm_rf", "parameters": {}}', functions) is None


def test_forced_tool_grammar_follows_the_template_style() -> None:
    functions = [{"name": "f", "parameters": {"type": "object", "properties": {}}}]
    assert forced_functions(functions, "auto") is None
    assert forced_functions(functions, "required") == functions
    hermes = tool_call_grammar(functions, "hermes")
    assert hermes.startswith('root ::= "<tool_call>\\n" tool-call')
    assert '\\"parameters\\"' in tool_call_grammar(functions, "json")


def test_admission_bounds_waiters_and_hands_slots_over_in_order() -> None:
    async def scenario() -> list[str]:
        admission = Admission(lambda: 1, lambda: 2)
        order: list[str] = []
        await admission.acquire("m")

        async def wait(name: str) -> None:
            await admission.acquire("m")
            order.append(name)

        first = asyncio.create_task(wait("first"))
        second = asyncio.create_task(wait("second"))
        await asyncio.sleep(0)
        assert admission.waiting == 2
        with pytest.raises(QueueFull):
            await admission.acquire("m")
        admission.release("m")
        await first
        admission.release("m")
        await second
        admission.release("m")
        assert admission.running == 0 and admission.waiting == 0
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_waiter_that_gives_up_leaves_the_line() -> None:
    async def scenario() -> None:
        admission = Admission(lambda: 1, lambda: 5)
        await admission.acquire("m")
        waiter = asyncio.create_task(admission.acquire("m"))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert admission.waiting == 0
        admission.release("m")
        assert admission.running == 0

    asyncio.run(scenario())
