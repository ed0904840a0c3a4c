"""The OpenAI dialect on a real server over loopback, driven by the official ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.helpers.api_server import TINY, TOOLS, Api, serve, tiny_home
from tests.unit.backend.templates.test_templates_real_world import LLAMA_31

pytest.importorskip("llama_cpp")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["unit"],
        },
    },
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tiny_home(tmp_path_factory.mktemp("openai-home"), tool_template=LLAMA_31)
    yield from serve(root)


@pytest.fixture
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)


def test_models_list_shows_the_ids_of_hearth_ls(client: openai.OpenAI, api: Api) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == sorted(m.id for m in api.core.library.scan())
    assert TINY in ids and TOOLS in ids
    assert client.models.retrieve(TINY).id == TINY


def test_chat_completion_whole_and_streamed_agree(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Say something"}]
    whole = client.chat.completions.create(
        model=TINY,
        messages=messages,
        max_tokens=12,
        temperature=0,
        seed=1,  # type: ignore[arg-type]
    )
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None and whole.usage.completion_tokens == 12
    assert whole.usage.prompt_tokens > 0
    stream = client.chat.completions.create(
        model=TINY,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=12,
        temperature=0,
        seed=1,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finals = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finals[-1] == "length" and all(f is None for f in finals[:-1])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12


def test_seed_makes_sampling_reproducible(client: openai.OpenAI) -> None:
    def reply(seed: int) -> str | None:
        return (
            client.chat.completions.create(
                model=TINY,
                messages=[{"role": "user", "content": "Hi"}],
                max_tokens=10,
                temperature=1.0,
                seed=seed,
            )
            .choices[0]
            .message.content
        )

    assert reply(7) == reply(7)


def test_presence_and_frequency_penalties_reach_the_sampler(client: openai.OpenAI) -> None:
    """OpenAI's penalties change a greedy reply (they used to be ignored). The tiny model's
    greedy reply repeats tokens, so a penalty on seen tokens must change it."""

    def reply(**penalties: float) -> str:
        out = client.completions.create(
            model=TINY,
            prompt="the the the",
            max_tokens=48,
            temperature=0,
            extra_body={"repeat_penalty": 1.0},
            **penalties,  # type: ignore[arg-type]
        )
        return out.choices[0].text

    plain = reply()
    assert reply() == plain  # greedy: a difference below is the penalty's
    assert reply(presence_penalty=2.0) != plain
    assert reply(frequency_penalty=2.0) != plain
    assert reply(presence_penalty=0.0, frequency_penalty=0.0) == plain


def test_n_choices_are_distinct_samples_and_streamed_by_index(client: openai.OpenAI) -> None:
    """``n`` choices run as concurrent engine requests, choice i with seed + i. (Sampled
    text is not compared across calls: batched and single decodes may differ in the last
    bits, which can flip a sample at temperature 1 — as in llama-server and vLLM.)"""
    ask = {"model": TINY, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 12}
    whole = client.chat.completions.create(n=3, temperature=1.0, seed=7, **ask)  # type: ignore[call-overload]
    texts = [c.message.content for c in whole.choices]
    assert [c.index for c in whole.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" for c in whole.choices)
    assert len(set(texts)) > 1  # different seeds, different samples
    assert whole.usage is not None and whole.usage.completion_tokens == 36

    # Greedy, every choice is the n=1 answer (the f32 model decodes batched = alone).
    greedy = client.chat.completions.create(temperature=0, **ask).choices[0].message.content  # type: ignore[call-overload]
    streamed: dict[int, str] = {0: "", 1: ""}
    finished: dict[int, list[str]] = {0: [], 1: []}
    for part in client.chat.completions.create(n=2, temperature=0, stream=True, **ask):  # type: ignore[call-overload]
        for choice in part.choices:
            streamed[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finished[choice.index].append(choice.finish_reason)
    assert streamed == {0: greedy, 1: greedy}
    assert finished == {0: ["length"], 1: ["length"]}


def test_n_completions_whole_and_streamed(client: openai.OpenAI) -> None:
    ask = {"model": TINY, "prompt": "abc", "max_tokens": 10, "temperature": 0}
    greedy = client.completions.create(**ask).choices[0].text  # type: ignore[call-overload]
    whole = client.completions.create(n=2, echo=True, **ask)  # type: ignore[call-overload]
    assert [(c.index, c.text) for c in whole.choices] == [(0, "abc" + greedy), (1, "abc" + greedy)]
    assert whole.usage is not None and whole.usage.completion_tokens == 20
    streamed = {0: "", 1: ""}
    reasons: dict[int, list[str]] = {0: [], 1: []}
    usage = None
    for part in client.completions.create(n=2, stream=True, **ask):  # type: ignore[call-overload]
        for c in part.choices:
            streamed[c.index] += c.text
            if c.finish_reason:
                reasons[c.index].append(c.finish_reason)
        usage = part.usage or usage
    assert streamed == {0: greedy, 1: greedy}
    assert reasons == {0: ["length"], 1: ["length"]}
    assert usage is not None and usage.completion_tokens == 20


def test_chat_logprobs_whole_and_streamed(client: openai.OpenAI) -> None:
    ask = {"model": TINY, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}
    reply = client.chat.completions.create(  # type: ignore[call-overload]
        temperature=0, logprobs=True, top_logprobs=3, **ask
    )
    content = reply.choices[0].logprobs.content
    assert reply.usage is not None and len(content) == reply.usage.completion_tokens == 8
    text = bytes(b for entry in content for b in entry.bytes).decode("utf-8", "replace")
    assert text == reply.choices[0].message.content
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].token == entry.token  # greedy picks the likeliest
        assert entry.top_logprobs[0].logprob == pytest.approx(entry.logprob)
    plain = client.chat.completions.create(temperature=0, **ask)  # type: ignore[call-overload]
    assert plain.choices[0].logprobs is None
    streamed = []
    for part in client.chat.completions.create(  # type: ignore[call-overload]
        temperature=0, logprobs=True, stream=True, **ask
    ):
        for choice in part.choices:
            if choice.logprobs is not None:
                streamed += choice.logprobs.content or []
    # Same tokens; log-probs equal up to float noise (this time the prompt came from the
    # prefix cache, computed in a different batch shape).
    assert [e.token for e in streamed] == [e.token for e in content]
    for got, want in zip(streamed, content, strict=True):
        assert got.logprob == pytest.approx(want.logprob, abs=1e-3)
    assert all(e.top_logprobs == [] for e in streamed)  # top_logprobs not asked: none


def test_completion_logprobs_legacy_shape(client: openai.OpenAI) -> None:
    reply = client.completions.create(
        model=TINY, prompt="abc", max_tokens=6, temperature=0, logprobs=2
    )
    lp = reply.choices[0].logprobs
    assert lp is not None and len(lp.tokens) == len(lp.token_logprobs) == 6
    assert len(lp.top_logprobs) == 6 and all(len(t) <= 2 for t in lp.top_logprobs)
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    assert all(v <= 0 for v in lp.token_logprobs)


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/v1/chat/completions", {"top_logprobs": 2}),  # without logprobs: true
        ("/v1/chat/completions", {"logprobs": True, "top_logprobs": 21}),
        ("/v1/chat/completions", {"logprobs": "yes"}),
        ("/v1/completions", {"logprobs": 2, "echo": True}),
        ("/v1/completions", {"logprobs": -1}),
    ],
)
def test_bad_logprobs_options_are_a_400(api: Api, path: str, extra: dict) -> None:
    body = {"model": TINY, "messages": [{"role": "user", "content": "x"}], "prompt": "x"}
    reply = httpx.post(f"{api.url}{path}", json={**body, **extra})
    assert reply.status_code == 400, reply.text


@pytest.mark.parametrize("n", [0, 9, "2"])
def test_n_out_of_range_is_a_400(api: Api, n: object) -> None:
    body = {"model": TINY, "messages": [{"role": "user", "content": "x"}], "n": n}
    reply = httpx.post(f"{api.url}/v1/chat/completions", json=body)
    assert reply.status_code == 400 and "'n'" in reply.json()["error"]["message"]


def test_stop_strings_end_the_reply(client: openai.OpenAI) -> None:
    base = client.completions.create(model=TINY, prompt="abc", max_tokens=20, temperature=0)
    text = base.choices[0].text
    assert len(text) >= 4
    stop = text[2:4]
    stopped = client.completions.create(
        model=TINY, prompt="abc", max_tokens=20, temperature=0, stop=[stop]
    )
    assert stopped.choices[0].text == text[: text.index(stop)]
    assert stopped.choices[0].finish_reason == "stop"


def test_completions_stream_and_echo(client: openai.OpenAI) -> None:
    whole = client.completions.create(model=TINY, prompt="Once", max_tokens=8, temperature=0)
    assert whole.object == "text_completion" and whole.usage is not None
    stream = client.completions.create(
        model=TINY, prompt="Once", max_tokens=8, temperature=0, stream=True
    )
    assert "".join(c.choices[0].text for c in stream) == whole.choices[0].text
    echoed = client.completions.create(
        model=TINY, prompt="Once", max_tokens=8, temperature=0, echo=True
    )
    assert echoed.choices[0].text == "Once" + whole.choices[0].text


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=TINY, input=["a cat", "a dog"])  # base64 on the wire
    assert [d.index for d in result.data] == [0, 1]
    vector = result.data[0].embedding
    assert len(vector) == 64 and abs(sum(v * v for v in vector) - 1.0) < 1e-3
    floats = client.embeddings.create(model=TINY, input="a cat", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(vector, abs=1e-6)
    assert result.usage.prompt_tokens > 0


def test_json_schema_output_parses_and_validates(client: openai.OpenAI) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string", "enum": ["yes", "no"]},
            "confidence": {"type": "integer", "enum": [1, 2, 3]},
        },
        "required": ["answer", "confidence"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=TINY,
        messages=[{"role": "user", "content": "Is it raining?"}],
        max_tokens=300,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        },
    )
    data = json.loads(reply.choices[0].message.content or "")
    jsonschema.validate(data, schema)


def test_json_object_mode_gives_an_object(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=TINY,
        messages=[{"role": "user", "content": "JSON please"}],
        max_tokens=200,
        temperature=0,
        response_format={"type": "json_object"},
    )
    assert reply.choices[0].message.content.lstrip().startswith("{")  # type: ignore[union-attr]


def test_forced_tool_call_is_parsed_into_tool_calls(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=TOOLS,
        messages=[{"role": "user", "content": "Weather in Bern?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
        max_tokens=400,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    args = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
    assert args["unit"] in ("celsius", "fahrenheit")

    # The call and its result go back in: the template renders them and the model answers.
    follow_up = client.chat.completions.create(
        model=TOOLS,
        messages=[
            {"role": "user", "content": "Weather in Bern?"},
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 21}'},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_tokens=5,
    )
    assert follow_up.choices[0].message.tool_calls is None


def test_streamed_forced_tool_call(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=TOOLS,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=400,
        stream=True,
    )
    chunks = list(stream)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tools_on_a_model_without_a_tool_template_are_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=TINY,
            messages=[{"role": "user", "content": "x"}],
            tools=[WEATHER],  # type: ignore[list-item]
        )
    assert "tools" in str(info.value)


def test_unknown_model_is_a_404_in_openai_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(
            model="nobody/nothing/Q4_K_M", messages=[{"role": "user", "content": "x"}]
        )
    body = info.value.response.json()
    assert body["error"]["type"] == "not_found_error" and "nobody" in body["error"]["message"]


def test_a_gguf_path_is_not_a_model_name(client: openai.OpenAI, api: Api) -> None:
    path = str(api.core.library.resolve(TINY).path)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=path, messages=[{"role": "user", "content": "x"}])
    assert "/" + Path(path).parent.name not in info.value.response.text


@pytest.mark.parametrize(
    "body",
    [
        {"model": TINY, "messages": "hi"},
        {"model": TINY, "messages": [{"role": "wizard", "content": "x"}]},
        {"model": TINY, "messages": [{"role": "user", "content": "x"}], "max_tokens": "many"},
        {"model": TINY, "messages": [{"role": "user", "content": "x"}], "temperature": -1},
        {"model": 5, "messages": [{"role": "user", "content": "x"}]},
        {"model": TINY, "messages": [{"role": "user", "content": "x"}], "stop": [1]},
        {"model": TINY, "messages": [{"role": "user", "content": "x"}], "presence_penalty": 3},
        {"model": TINY, "messages": [{"role": "user", "content": "x"}], "frequency_penalty": "x"},
    ],
)
def test_malformed_fields_are_a_400(api: Api, body: dict) -> None:
    reply = httpx.post(f"{api.url}/v1/chat/completions", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"
