"""The Anthropic and Ollama dialects, driven by the official ``anthropic`` and ``ollama``
clients against a real server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import ollama
import pytest

from tests.helpers.api_server import TINY, TOOLS, Api, serve, tiny_home
from tests.unit.backend.templates.test_templates_real_world import LLAMA_31

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tiny_home(tmp_path_factory.mktemp("dialects-home"), tool_template=LLAMA_31)
    yield from serve(root)


# ----------------------------------------------------------------- anthropic
@pytest.fixture
def claude(api: Api) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api.url, api_key="unused", max_retries=0)


def test_messages_whole_and_streamed(claude: anthropic.Anthropic) -> None:
    kwargs = {
        "model": TINY,
        "max_tokens": 10,
        "extra_body": {"temperature": 0.0},  # newer clients dropped sampling parameters
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
    }
    whole = claude.messages.create(**kwargs)  # type: ignore[call-overload]
    assert whole.type == "message" and whole.role == "assistant"
    assert whole.stop_reason == "max_tokens" and whole.usage.output_tokens == 10
    text = whole.content[0].text  # type: ignore[union-attr]
    with claude.messages.stream(**kwargs) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == text
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 10


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["unit"],
    },
}


def test_tool_use_whole_then_tool_result_goes_back(claude: anthropic.Anthropic) -> None:
    """Anthropic tools (they used to be ignored): a forced call comes back as a tool_use
    block with stop_reason tool_use, and the result goes back in a tool_result block."""
    question = {"role": "user", "content": "Weather in Bern?"}
    reply = claude.messages.create(  # type: ignore[call-overload]
        model=TOOLS,
        max_tokens=400,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[question],
    )
    assert reply.stop_reason == "tool_use"
    (call,) = reply.content
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.id.startswith("toolu_") and call.input["unit"] in ("celsius", "fahrenheit")

    follow_up = claude.messages.create(  # type: ignore[call-overload]
        model=TOOLS,
        max_tokens=5,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "none"},
        messages=[
            question,
            {"role": "assistant", "content": [block.model_dump() for block in reply.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21 C"}],
            },
        ],
    )
    assert follow_up.content[0].type == "text" and follow_up.stop_reason != "tool_use"


def test_tool_use_streamed(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(  # type: ignore[call-overload]
        model=TOOLS,
        max_tokens=400,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (call,) = final.content
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input["unit"] in ("celsius", "fahrenheit")  # rebuilt from input_json_delta


def test_tools_on_a_model_without_a_tool_template_are_a_400_in_anthropic_format(
    claude: anthropic.Anthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(  # type: ignore[call-overload]
            model=TINY, max_tokens=5, tools=[WEATHER_TOOL],
            messages=[{"role": "user", "content": "x"}],
        )  # fmt: skip


def test_messages_errors_use_the_anthropic_format(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        claude.messages.create(
            model="no/such/model", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model=TINY, max_tokens=5, messages=[])


# -------------------------------------------------------------------- ollama
@pytest.fixture
def llama(api: Api) -> ollama.Client:
    return ollama.Client(host=api.url)


def test_tags_show_ps_version(llama: ollama.Client, api: Api) -> None:
    names = [m.model for m in llama.list().models]
    assert TINY in names and TOOLS in names
    shown = llama.show(TINY)
    assert shown.details is not None and shown.details.format == "gguf"
    assert "completion" in (shown.capabilities or [])
    llama.generate(model=TINY, prompt="")  # an empty prompt loads the model, as in Ollama
    assert TINY in [m.model for m in llama.ps().models]
    assert httpx.get(f"{api.url}/api/version").json()["version"]


def test_chat_whole_and_streamed(llama: ollama.Client) -> None:
    messages = [{"role": "user", "content": "Hello"}]
    options = {"temperature": 0, "num_predict": 9}
    whole = llama.chat(model=TINY, messages=messages, options=options)
    assert whole.done and whole.done_reason == "length" and whole.eval_count == 9
    parts = list(llama.chat(model=TINY, messages=messages, options=options, stream=True))
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == whole.message.content


def test_chat_stream_is_ndjson(api: Api) -> None:
    body = {"model": TINY, "messages": [{"role": "user", "content": "x"}]}
    body["options"] = {"num_predict": 5}
    with httpx.stream("POST", f"{api.url}/api/chat", json=body) as reply:
        assert reply.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in reply.iter_lines() if line]
    assert lines[-1]["done"] is True and len(lines) >= 2


def test_generate_whole_and_streamed(llama: ollama.Client) -> None:
    options = {"temperature": 0, "num_predict": 7}
    whole = llama.generate(model=TINY, prompt="Once upon", options=options)
    streamed = "".join(
        p.response
        for p in llama.generate(model=TINY, prompt="Once upon", options=options, stream=True)
    )
    assert whole.response == streamed and whole.eval_count == 7


def test_generate_with_a_json_schema_format(llama: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
    }
    reply = llama.generate(model=TINY, prompt="ok?", format=schema, options={"num_predict": 200})
    assert isinstance(json.loads(reply.response)["ok"], bool)


def test_embed(llama: ollama.Client) -> None:
    result = llama.embed(model=TINY, input=["one", "two", "three"])
    assert len(result.embeddings) == 3 and len(result.embeddings[0]) == 64


def test_chat_tool_calls_come_back_as_ollama_tool_calls(api: Api) -> None:
    # Ollama has no tool_choice; the grammar forces a call through the JSON-schema format.
    tool = {
        "type": "function",
        "function": {
            "name": "ping",
            "parameters": {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}},
        },
    }
    schema = {
        "type": "object",
        "properties": {
            "name": {"const": "ping"},
            "parameters": {
                "type": "object",
                "properties": {"unit": {"enum": ["c", "f"]}},
                "required": ["unit"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "parameters"],
    }
    client = ollama.Client(host=api.url)
    reply = client.chat(
        model=TOOLS,
        messages=[{"role": "user", "content": "ping"}],
        tools=[tool],
        format=schema,
        options={"num_predict": 400},
    )
    calls = reply.message.tool_calls
    assert calls and calls[0].function.name == "ping", reply.message


def test_unknown_model_is_a_404_in_ollama_format(api: Api) -> None:
    reply = httpx.post(f"{api.url}/api/chat", json={"model": "nope:latest", "messages": []})
    assert reply.status_code == 404 and isinstance(reply.json()["error"], str)


def test_malformed_json_is_a_400_in_ollama_format(api: Api) -> None:
    reply = httpx.post(f"{api.url}/api/generate", content=b"{not json")
    assert reply.status_code == 400 and "JSON" in reply.json()["error"]
