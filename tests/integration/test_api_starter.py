"""The API on the real starter model (Gemma 3 270M) with all three official clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import ollama
import openai
import pytest

from tests.helpers.api_server import Api, serve, starter_link

STARTER_ID = "google/gemma-3-270m/Q4_K_M"

pytestmark = pytest.mark.starter
jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, starter_model_file: Path) -> Iterator[Api]:
    yield from serve(starter_link(tmp_path_factory.mktemp("starter-home"), starter_model_file))


def test_openai_chat_completions_embeddings_and_models(api: Api) -> None:
    client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="x", max_retries=0)
    assert STARTER_ID in [m.id for m in client.models.list()]
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    whole = client.chat.completions.create(
        model=STARTER_ID,
        messages=messages,
        max_tokens=16,
        temperature=0,  # type: ignore[arg-type]
    )
    assert whole.choices[0].message.content and whole.usage is not None
    streamed = client.chat.completions.create(
        model=STARTER_ID,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=16,
        temperature=0,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text == whole.choices[0].message.content
    completion = client.completions.create(
        model=STARTER_ID, prompt="The capital of France is", max_tokens=4, temperature=0
    )
    assert completion.choices[0].text.strip() and completion.usage is not None
    vectors = client.embeddings.create(model=STARTER_ID, input=["Paris", "France", "banana"])
    a, b, c = (d.embedding for d in vectors.data)
    assert sum(x * y for x, y in zip(a, b, strict=True)) > sum(
        x * y for x, y in zip(a, c, strict=True)
    )


def test_json_schema_output_parses_and_validates(api: Api) -> None:
    client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="x", max_retries=0)
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 40},
            "country": {"type": "string", "maxLength": 40},
            "population_millions": {"type": "number"},
        },
        "required": ["city", "country", "population_millions"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=STARTER_ID,
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        max_tokens=120,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)


def test_anthropic_messages(api: Api) -> None:
    client = anthropic.Anthropic(base_url=api.url, api_key="x", max_retries=0)
    kwargs = {
        "model": STARTER_ID,
        "max_tokens": 12,
        "messages": [{"role": "user", "content": "Say hello."}],
        "extra_body": {"temperature": 0},
    }
    whole = client.messages.create(**kwargs)  # type: ignore[call-overload]
    with client.messages.stream(**kwargs) as stream:
        text = "".join(stream.text_stream)
    assert text == whole.content[0].text and whole.usage.output_tokens > 0  # type: ignore[union-attr]


def test_ollama_chat_generate_embed(api: Api) -> None:
    client = ollama.Client(host=api.url)
    options = {"temperature": 0, "num_predict": 12}
    messages = [{"role": "user", "content": "Name a colour."}]
    whole = client.chat(model=STARTER_ID, messages=messages, options=options)
    parts = list(client.chat(model=STARTER_ID, messages=messages, options=options, stream=True))
    assert "".join(p.message.content or "" for p in parts) == whole.message.content
    generated = client.generate(
        model=STARTER_ID,
        prompt="The capital of France is",
        options={"temperature": 0, "num_predict": 4},
    )
    assert generated.response.strip() and generated.eval_count
    assert len(client.embed(model=STARTER_ID, input="hello").embeddings[0]) > 100
