"""OpenAI dialect: ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``."""

from __future__ import annotations

import base64
import secrets
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.backend.engine.types import TokenLogprob
from app.backend.library import LocalModel
from app.backend.remote import RemoteModel
from app.backend.server import logprobs
from app.backend.server.choices import (
    choice_count,
    close_all,
    interleaved,
    start_all,
    varied,
    whole_all,
)
from app.backend.server.common import (
    Run,
    base_sampling,
    choose,
    generation,
    get,
    log_prompt,
    prepare,
    read_json,
    remote_run,
    remote_sampling,
    service_of,
    wire_messages,
)
from app.backend.server.errors import ApiError, error_body
from app.backend.server.fallback import Fallback
from app.backend.server.grammars import (
    json_object_grammar,
    parse_tool_calls,
    schema_grammar,
    tool_functions,
)
from app.backend.server.prompts import (
    arguments_dict,
    render_with_tools,
    sampling_from,
    text_of,
    with_prompt_stops,
)
from app.backend.server.request_log import annotate
from app.backend.server.streaming import sse, sse_response
from app.backend.templates import RenderedPrompt

SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "seed": "seed",
    "stop": "stop",
}
FINISH = {"max_tokens": "length", "context_limit": "length"}


def finish_reason(stop_reason: str) -> str:
    return FINISH.get(stop_reason, "stop")


def model_entry(model: LocalModel) -> dict[str, Any]:
    try:
        created = int(model.path.stat().st_mtime)
    except OSError:
        created = 0
    return {
        "id": model.id,
        "object": "model",
        "created": created,
        "owned_by": model.id.split("/", 1)[0],
    }


def remote_entry(model: RemoteModel) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": 0, "owned_by": f"remote:{model.endpoint}"}


async def all_model_entries(request: Request) -> list[dict[str, Any]]:
    """Local models, then the models of enabled remote endpoints (beside them, by id)."""
    service = service_of(request)
    local = [model_entry(m) for m in await service.models()]
    return local + [remote_entry(m) for m in await service.remote_models()]


async def list_models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": await all_model_entries(request)})


async def get_model(request: Request) -> Response:
    name = request.path_params["model_id"]
    for entry in await all_model_entries(request):
        if entry["id"] == name:
            return JSONResponse(entry)
    raise ApiError(404, f"The model '{name}' does not exist.", "model_not_found")


def local_only_options(n: int, top_logprobs: int | None) -> None:
    """Refuse what is not forwarded to a remote model (it would be silently lost)."""
    if n > 1:
        raise ApiError(400, "'n' above 1 is for local models only.", "unsupported_feature")
    if top_logprobs is not None:
        raise ApiError(400, "Log-probabilities are for local models only.", "unsupported_feature")


# ------------------------------------------------------------------- chat
def chat_messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.")
    messages = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            raise ApiError(400, "Each message needs a 'role'.")
        role = "system" if item["role"] == "developer" else item["role"]
        if role not in ("system", "user", "assistant", "tool"):
            raise ApiError(400, f"Unknown message role '{item['role']}'.")
        message: dict[str, Any] = {"role": role, "content": text_of(item.get("content"))}
        if item.get("tool_calls"):
            calls = item["tool_calls"]
            if not isinstance(calls, list):
                raise ApiError(400, "'tool_calls' must be a list.")
            message["tool_calls"] = [
                {
                    "id": c.get("id"),
                    "type": "function",
                    "function": {
                        "name": (c.get("function") or {}).get("name"),
                        "arguments": arguments_dict((c.get("function") or {}).get("arguments")),
                    },
                }
                for c in calls
                if isinstance(c, dict)
            ]
        if item.get("tool_call_id"):
            message["tool_call_id"] = item["tool_call_id"]
        messages.append(message)
    return messages


def response_grammar(body: dict[str, Any]) -> str | None:
    fmt = get(body, "response_format", dict)
    if fmt is None or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return json_object_grammar()
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ApiError(400, "'response_format.json_schema.schema' must be an object.")
        return schema_grammar(spec["schema"])
    raise ApiError(400, f"Unknown response_format type '{fmt.get('type')}'.")


async def chat_completions(request: Request) -> Response:
    body = await read_json(request)
    messages = chat_messages(body.get("messages"))
    n = choice_count(body)
    top_logprobs = logprobs.chat_option(body)
    stream = bool(get(body, "stream", bool, False))
    plain = not body.get("tools") and not body.get("response_format")
    target = await choose(request, body.get("model"), plain=plain)
    functions: list[dict[str, Any]] = []
    use_tools = False
    if target.local is None:
        if not plain:
            raise ApiError(
                400, "Tools and response_format are not forwarded to remote models.",
                "unsupported_feature",
            )  # fmt: skip
        local_only_options(n, top_logprobs)
        sampling = remote_sampling(request, body, SAMPLING_KEYS)
        runs = [remote_run(request, target, sampling, wire_messages(messages))]
    else:
        prepared = target.local
        functions = tool_functions(body["tools"]) if body.get("tools") else []
        choice = body.get("tool_choice")
        use_tools = bool(functions) and choice != "none"
        rendered, grammar = render_with_tools(
            prepared.builder, messages, functions, choice, response_grammar(body),
            "response_format",
        )  # fmt: skip
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None and n == 1 and top_logprobs is None:  # else: stay here
            wire = wire_messages(messages)
            far = remote_sampling(request, body, SAMPLING_KEYS)
            fallback = Fallback(target.rule, wire, far, prepared.engine)
        runs = [
            Run(
                request,
                prepared,
                generation(rendered, varied(sampling, i), grammar, top_logprobs),
                fallback,
            )
            for i in range(n)
        ]
    first = runs[0]
    reply_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())

    def finish(run: Run, text: str) -> tuple[dict[str, Any], str]:
        calls = parse_tool_calls(text, functions) if use_tools else None
        if calls:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [c.openai() for c in calls],
            }
            return message, "tool_calls"
        return {"role": "assistant", "content": text}, finish_reason(run.stop_reason)

    def usage() -> dict[str, int]:
        p = first.prompt_tokens  # one prompt, read once for every choice
        c = sum(run.completion_tokens for run in runs)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    if not stream:
        await start_all(runs)
        texts = await whole_all(runs)
        choices = []
        for index, (run, text) in enumerate(zip(runs, texts, strict=True)):
            message, reason = finish(run, text)
            entry = {"index": index, "message": message, "finish_reason": reason}
            if top_logprobs is not None:
                entry["logprobs"] = logprobs.chat_shape(run.logprobs)
            choices.append(entry)
        return JSONResponse(
            {
                "id": reply_id,
                "object": "chat.completion",
                "created": created,
                "model": first.model_id,
                "choices": choices,
                "usage": usage(),
                "system_fingerprint": "hearth",
            },
            headers=first.headers(),
        )
    include_usage = bool((get(body, "stream_options", dict, {}) or {}).get("include_usage"))

    def chunk(
        delta: dict[str, Any],
        reason: str | None = None,
        index: int = 0,
        token_logprobs: list[TokenLogprob] | None = None,
    ) -> bytes:
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": reason}
        if token_logprobs is not None:
            choice["logprobs"] = logprobs.chat_shape(token_logprobs)
        return sse(
            {
                "id": reply_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": first.model_id,
                "system_fingerprint": "hearth",
                "choices": [choice],
            }
        )

    async def events() -> AsyncIterator[bytes]:
        for index in range(n):
            yield chunk({"role": "assistant", "content": ""}, index=index)
        try:
            async for index, piece in interleaved(runs):
                run = runs[index]
                if piece is not None:
                    text, token_logprobs = piece
                    if not use_tools:
                        yield chunk({"content": text}, index=index, token_logprobs=token_logprobs)
                    continue
                message, reason = finish(run, "".join(run.text_parts))
                if use_tools:
                    if message.get("tool_calls"):
                        calls = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
                        yield chunk({"tool_calls": calls}, index=index)
                    else:
                        yield chunk({"content": message["content"]}, index=index)
                yield chunk({}, reason, index=index)
        except ApiError as exc:
            yield sse(error_body("openai", exc.status, exc.message))
            return
        if include_usage:
            yield sse(
                {
                    "id": reply_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": first.model_id,
                    "choices": [],
                    "usage": usage(),
                }
            )
        yield b"data: [DONE]\n\n"

    await start_all(runs)
    return sse_response(events(), lambda: close_all(runs), first.headers())


# ------------------------------------------------------------- completions
async def completions(request: Request) -> Response:
    body = await read_json(request)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be a string (one prompt per request).")
    n = choice_count(body)
    top_logprobs = logprobs.completion_option(body)
    stream = bool(get(body, "stream", bool, False))
    echo = bool(get(body, "echo", bool, False))
    target = await choose(request, body.get("model"))
    # OpenAI's documented default for this endpoint is 16 tokens.
    far = remote_sampling(request, body, SAMPLING_KEYS, max_tokens=16)
    if target.local is None:
        local_only_options(n, top_logprobs)
        runs = [remote_run(request, target, far, None, prompt)]
    else:
        prepared = target.local
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        if body.get("max_tokens") is None:
            sampling.max_tokens = 16
        log_prompt(request, prompt)
        fallback = None
        if target.rule is not None and n == 1 and top_logprobs is None:  # else: stay here
            fallback = Fallback(target.rule, None, far, prepared.engine)
        runs = [
            Run(
                request,
                prepared,
                generation(RenderedPrompt(prompt), varied(sampling, i), None, top_logprobs),
                fallback,
            )
            for i in range(n)
        ]
    first = runs[0]
    reply_id = f"cmpl-{secrets.token_hex(12)}"
    created = int(time.time())

    def payload(choices: list[dict[str, Any]], usage: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": reply_id,
            "object": "text_completion",
            "created": created,
            "model": first.model_id,
            "choices": choices,
        }
        if usage:
            p = first.prompt_tokens  # one prompt, read once for every choice
            c = sum(run.completion_tokens for run in runs)
            data["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        return data

    def choice(
        index: int, text: str, reason: str | None, shaped: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {"index": index, "text": text, "logprobs": shaped, "finish_reason": reason}

    def shaped(entries: list[TokenLogprob] | None, offset: int) -> dict[str, Any] | None:
        return (
            logprobs.completion_shape(entries or [], offset) if top_logprobs is not None else None
        )

    if not stream:
        await start_all(runs)
        texts = await whole_all(runs)
        lead = prompt if echo else ""
        return JSONResponse(
            payload(
                [
                    choice(i, lead + text, finish_reason(run.stop_reason), shaped(run.logprobs, 0))
                    for i, (run, text) in enumerate(zip(runs, texts, strict=True))
                ],
                usage=True,
            ),
            headers=first.headers(),
        )

    async def events() -> AsyncIterator[bytes]:
        if echo:
            for index in range(n):
                yield sse(payload([choice(index, prompt, None)]))
        try:
            offsets = [0] * n  # where each choice's next token starts in its text
            async for index, piece in interleaved(runs):
                if piece is not None:
                    text, entries = piece
                    part = shaped(entries, offsets[index])
                    offsets[index] += sum(len(e.token) for e in entries or [])
                    yield sse(payload([choice(index, text, None, part)]))
                else:
                    reason = finish_reason(runs[index].stop_reason)
                    yield sse(payload([choice(index, "", reason)], usage=n == 1))
        except ApiError as exc:
            yield sse(error_body("openai", exc.status, exc.message))
            return
        if n > 1:  # the totals, once every choice has finished
            yield sse(payload([], usage=True))
        yield b"data: [DONE]\n\n"

    await start_all(runs)
    return sse_response(events(), lambda: close_all(runs), first.headers())


# -------------------------------------------------------------- embeddings
def embedding_inputs(raw: Any, key: str = "input") -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        return list(raw)
    raise ApiError(400, f"'{key}' must be a string or a non-empty list of strings.")


async def embeddings(request: Request) -> Response:
    body = await read_json(request)
    texts = embedding_inputs(body.get("input"))
    encoding = get(body, "encoding_format", str, "float")
    if encoding not in ("float", "base64"):
        raise ApiError(400, "'encoding_format' must be 'float' or 'base64'.")
    prepared = await prepare(request, body.get("model"))
    service = service_of(request)
    vectors = await service.embed(prepared.model, prepared.engine, texts)
    tokens = 0
    for text in texts:
        tokens += await service.count_tokens(prepared.engine, text)
    annotate(request.scope, tokens_in=tokens)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _b64(vector) if encoding == "base64" else vector,
        }
        for i, vector in enumerate(vectors)
    ]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": prepared.model.id,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _b64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/completions", completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings, methods=["POST"]),
]
