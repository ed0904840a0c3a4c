"""OpenAI's Responses API on a real server, driven by the official ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.helpers.api_server import TINY, TOOLS, Api, serve, tiny_home
from tests.unit.backend.templates.test_templates_real_world import LLAMA_31

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tiny_home(tmp_path_factory.mktemp("responses-home"), tool_template=LLAMA_31))


@pytest.fixture
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)


def test_text_response_matches_chat_completions(client: openai.OpenAI) -> None:
    """The same conversation through both APIs gives the same greedy text."""
    reply = client.responses.create(
        model=TINY, instructions="Be brief.", input="Say something",
        max_output_tokens=10, temperature=0,
    )  # fmt: skip
    assert reply.object == "response" and reply.model == TINY
    assert reply.status == "incomplete" and reply.incomplete_details is not None
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert reply.usage is not None and reply.usage.output_tokens == 10
    chat = client.chat.completions.create(
        model=TINY,
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Say something"}],
        max_tokens=10, temperature=0,
    )  # fmt: skip
    assert reply.output_text == chat.choices[0].message.content
    assert reply.usage.input_tokens == chat.usage.prompt_tokens  # type: ignore[union-attr]


def test_message_items_and_streaming_events(client: openai.OpenAI) -> None:
    conversation = [
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Hello."}]},
        {"role": "user", "content": "And now?"},
    ]
    whole = client.responses.create(
        model=TINY,
        input=conversation,
        max_output_tokens=8,
        temperature=0,  # type: ignore[arg-type]
    )
    events = list(
        client.responses.create(
            model=TINY,
            input=conversation,
            max_output_tokens=8,
            temperature=0,
            stream=True,  # type: ignore[arg-type]
        )
    )
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
    ]  # fmt: skip
    assert kinds[-4:] == [
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[union-attr]
    assert deltas == whole.output_text
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == whole.output_text and final.usage.output_tokens == 8


def test_json_schema_format_is_enforced(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    reply = client.responses.create(
        model=TINY, input="Answer in JSON", max_output_tokens=40, temperature=0,
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema}},
    )  # fmt: skip
    assert isinstance(json.loads(reply.output_text)["ok"], bool)


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["unit"],
    },
}


def test_function_call_then_its_output_goes_back(client: openai.OpenAI) -> None:
    reply = client.responses.create(
        model=TOOLS, input="Weather in Bern?", tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required", max_output_tokens=400,
    )  # fmt: skip
    (call,) = reply.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.call_id.startswith("call_") and call.status == "completed"
    assert json.loads(call.arguments)["unit"] in ("celsius", "fahrenheit")

    follow_up = client.responses.create(
        model=TOOLS,
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_output_tokens=5,
        input=[
            {"role": "user", "content": "Weather in Bern?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "21 C"},
        ],
    )
    assert follow_up.output[0].type == "message"


def test_streamed_function_call(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model=TOOLS,
            input="Weather?",
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "function", "name": "get_weather"},
            max_output_tokens=400,
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments)["unit"] in ("celsius", "fahrenheit")  # type: ignore[union-attr]
    final = events[-1].response  # type: ignore[union-attr]
    assert events[-1].type == "response.completed" and final.output[0].type == "function_call"


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "name": "f", "parameters": {}}]},
        {"previous_response_id": "resp_123"},
        {"tools": [{"type": "web_search"}]},
        {"input": [{"type": "reasoning", "summary": []}]},
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
        {"input": 5},
        {"text": {"format": {"type": "json_schema"}}},
    ],
)
def test_what_is_not_supported_is_a_clear_400(api: Api, extra: dict) -> None:
    reply = httpx.post(f"{api.url}/v1/responses", json={"model": TINY, "input": "x", **extra})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"]
