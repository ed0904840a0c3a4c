"""OpenAI's Responses API on a real server, driven by the official ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.helpers.api_server import TINY, Api, serve, tiny_home

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tiny_home(tmp_path_factory.mktemp("responses-home")))


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


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "name": "f", "parameters": {}}]},
        {"previous_response_id": "resp_123"},
        {"input": [{"type": "function_call_output", "call_id": "x", "output": "1"}]},
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
        {"input": 5},
        {"text": {"format": {"type": "json_schema"}}},
    ],
)
def test_what_is_not_supported_is_a_clear_400(api: Api, extra: dict) -> None:
    reply = httpx.post(f"{api.url}/v1/responses", json={"model": TINY, "input": "x", **extra})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"]
