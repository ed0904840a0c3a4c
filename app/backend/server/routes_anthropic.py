"""Anthropic dialect: ``POST /v1/messages`` (whole replies and the streaming event sequence)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.backend.server.common import (
    Run,
    base_sampling,
    choose,
    generation,
    get,
    log_prompt,
    remote_run,
    remote_sampling,
    wire_messages,
)
from app.backend.server.common import read_json as read_body
from app.backend.server.errors import ApiError, error_body
from app.backend.server.fallback import Fallback
from app.backend.server.prompts import render_chat, sampling_from, text_of, with_prompt_stops
from app.backend.server.streaming import sse, sse_response

SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "stop_sequences": "stop",
}
STOP = {"max_tokens": "max_tokens", "context_limit": "max_tokens", "stop_string": "stop_sequence"}


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": text_of(system, "system")})
    for item in raw:
        if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
            raise ApiError(400, "Each message needs a role of 'user' or 'assistant'.")
        messages.append({"role": item["role"], "content": text_of(item.get("content"))})
    return messages


async def messages(request: Request) -> Response:
    body = await read_body(request)
    max_tokens = get(body, "max_tokens", int)
    if max_tokens is None:
        raise ApiError(400, "'max_tokens' is required.")
    conversation = _messages(body)
    stream = bool(get(body, "stream", bool, False))
    plain = not body.get("tools")
    target = await choose(request, body.get("model"), plain=plain)
    far = remote_sampling(request, body, SAMPLING_KEYS)
    if target.local is None:
        if not plain:
            raise ApiError(400, "Tools are not forwarded to remote models.", "unsupported_feature")
        run = remote_run(request, target, far, wire_messages(conversation))
    else:
        prepared = target.local
        rendered = render_chat(prepared.builder, conversation)
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None:
            fallback = Fallback(target.rule, wire_messages(conversation), far, prepared.engine)
        run = Run(request, prepared, generation(rendered, sampling), fallback)
    message_id = f"msg_{secrets.token_hex(12)}"

    def stop_reason() -> tuple[str, str | None]:
        reason = STOP.get(run.stop_reason, "end_turn")
        return reason, None

    def usage() -> dict[str, int]:
        return {"input_tokens": run.prompt_tokens, "output_tokens": run.completion_tokens}

    if not stream:
        text = await run.whole()
        reason, sequence = stop_reason()
        return JSONResponse(
            {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": run.model_id,
                "content": [{"type": "text", "text": text}],
                "stop_reason": reason,
                "stop_sequence": sequence,
                "usage": usage(),
            },
            headers=run.headers(),
        )

    async def events() -> AsyncIterator[bytes]:
        start: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": run.model_id,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        yield sse({"type": "message_start", "message": start}, "message_start")
        empty = {"type": "text", "text": ""}
        block = {"type": "content_block_start", "index": 0, "content_block": empty}
        yield sse(block, "content_block_start")
        yield sse({"type": "ping"}, "ping")
        try:
            async for text in run.chunks():
                piece = {"type": "text_delta", "text": text}
                delta = {"type": "content_block_delta", "index": 0, "delta": piece}
                yield sse(delta, "content_block_delta")
        except ApiError as exc:
            yield sse(error_body("anthropic", exc.status, exc.message), "error")
            return
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        reason, sequence = stop_reason()
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        yield sse({"type": "message_delta", "delta": delta, "usage": usage()}, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    await run.start()
    return sse_response(events(), run.close, run.headers())


ROUTES = [Route("/v1/messages", messages, methods=["POST"])]
