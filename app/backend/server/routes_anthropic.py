"""Anthropic dialect: ``POST /v1/messages`` (whole replies and the streaming event sequence)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.backend.server import anthropic_tools
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
from app.backend.server.grammars import (
    parse_tool_calls,
)
from app.backend.server.prompts import render_with_tools, sampling_from, with_prompt_stops
from app.backend.server.streaming import sse, sse_response

SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "stop_sequences": "stop",
}
STOP = {"max_tokens": "max_tokens", "context_limit": "max_tokens", "stop_string": "stop_sequence"}


async def messages(request: Request) -> Response:
    body = await read_body(request)
    max_tokens = get(body, "max_tokens", int)
    if max_tokens is None:
        raise ApiError(400, "'max_tokens' is required.")
    conversation = anthropic_tools.conversation(body)
    stream = bool(get(body, "stream", bool, False))
    functions = anthropic_tools.functions_of(body["tools"]) if body.get("tools") else []
    choice = anthropic_tools.openai_choice(body.get("tool_choice"))
    use_tools = bool(functions) and choice != "none"
    plain = not functions
    target = await choose(request, body.get("model"), plain=plain)
    far = remote_sampling(request, body, SAMPLING_KEYS)
    if target.local is None:
        if not plain:
            raise ApiError(400, "Tools are not forwarded to remote models.", "unsupported_feature")
        run = remote_run(request, target, far, wire_messages(conversation))
    else:
        prepared = target.local
        rendered, grammar = render_with_tools(
            prepared.builder, conversation, functions, choice, None, "a response format"
        )
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None:
            fallback = Fallback(target.rule, wire_messages(conversation), far, prepared.engine)
        run = Run(request, prepared, generation(rendered, sampling, grammar), fallback)
    message_id = f"msg_{secrets.token_hex(12)}"

    def content_of(text: str) -> tuple[list[dict[str, Any]], str]:
        """The reply's content blocks and its stop reason."""
        calls = parse_tool_calls(text, functions) if use_tools else None
        if calls:
            return anthropic_tools.tool_use_blocks(calls), "tool_use"
        return [{"type": "text", "text": text}], STOP.get(run.stop_reason, "end_turn")

    def usage() -> dict[str, int]:
        return {"input_tokens": run.prompt_tokens, "output_tokens": run.completion_tokens}

    if not stream:
        content, reason = content_of(await run.whole())
        return JSONResponse(
            {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": run.model_id,
                "content": content,
                "stop_reason": reason,
                "stop_sequence": None,
                "usage": usage(),
            },
            headers=run.headers(),
        )

    def block_events(index: int, block: dict[str, Any]) -> list[bytes]:
        """A whole block as start, one delta, stop (tool calls are known only at the end)."""
        if block["type"] == "tool_use":
            opened = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": anthropic_tools.input_json(block)}
        else:
            opened = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        return [
            sse({"type": "content_block_start", "index": index, "content_block": opened},
                "content_block_start"),
            sse({"type": "content_block_delta", "index": index, "delta": delta},
                "content_block_delta"),
            sse({"type": "content_block_stop", "index": index}, "content_block_stop"),
        ]  # fmt: skip

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
        if not use_tools:  # text streams as it comes
            empty = {"type": "text", "text": ""}
            block = {"type": "content_block_start", "index": 0, "content_block": empty}
            yield sse(block, "content_block_start")
        yield sse({"type": "ping"}, "ping")
        try:
            async for text in run.chunks():
                if use_tools:
                    continue  # a tool call is recognised only once the reply is complete
                piece = {"type": "text_delta", "text": text}
                delta = {"type": "content_block_delta", "index": 0, "delta": piece}
                yield sse(delta, "content_block_delta")
        except ApiError as exc:
            yield sse(error_body("anthropic", exc.status, exc.message), "error")
            return
        content, reason = content_of("".join(run.text_parts))
        if use_tools:
            for index, block in enumerate(content):
                for event in block_events(index, block):
                    yield event
        else:
            yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        delta = {"stop_reason": reason, "stop_sequence": None}
        yield sse({"type": "message_delta", "delta": delta, "usage": usage()}, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    await run.start()
    return sse_response(events(), run.close, run.headers())


ROUTES = [Route("/v1/messages", messages, methods=["POST"])]
