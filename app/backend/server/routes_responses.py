"""OpenAI's Responses API, ``POST /v1/responses``: text in, text out, streamed or not.

Newer OpenAI SDK code and agents start here rather than at chat completions. Covered:
``input`` as a string or message items (``input_text`` / ``output_text`` parts),
``instructions``, ``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``
(JSON object or schema, enforced by a grammar) and the streaming event sequence. Not
covered, and refused with a 400 rather than ignored: tools, images, and
``previous_response_id`` (Hearth keeps no responses server-side).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Mapping
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
    read_json,
    remote_run,
    remote_sampling,
    wire_messages,
)
from app.backend.server.errors import ApiError, error_body
from app.backend.server.fallback import Fallback
from app.backend.server.grammars import json_object_grammar, schema_grammar
from app.backend.server.prompts import render_chat, sampling_from, with_prompt_stops
from app.backend.server.streaming import sse, sse_response

SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max_tokens",
}
ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def conversation(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``instructions`` and ``input`` as chat messages."""
    if body.get("previous_response_id"):
        raise ApiError(
            400, "'previous_response_id' is not supported: Hearth keeps no responses; "
            "send the whole conversation in 'input'.", "unsupported_feature",
        )  # fmt: skip
    messages: list[dict[str, Any]] = []
    instructions = get(dict(body), "instructions", str)
    if instructions:
        messages.append({"role": "system", "content": instructions})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
    elif isinstance(raw, list) and raw:
        messages.extend(_item(item) for item in raw)
    else:
        raise ApiError(400, "'input' must be a string or a non-empty list of messages.")
    return messages


def _item(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping) or item.get("type", "message") != "message":
        kind = item.get("type") if isinstance(item, Mapping) else type(item).__name__
        raise ApiError(400, f"Input items of type '{kind}' are not supported.")
    role = ROLES.get(str(item.get("role")))
    if role is None:
        raise ApiError(400, f"Unknown input role '{item.get('role')}'.")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise ApiError(400, "A message's 'content' must be a string or a list of parts.")
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in ("input_text", "output_text", "text"):
            raise ApiError(400, f"Content of type '{kind}' is not supported by this server.")
        texts.append(str(part.get("text", "")))
    return {"role": role, "content": "".join(texts)}


def text_grammar(body: Mapping[str, Any]) -> str | None:
    config = body.get("text")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if fmt is None or (isinstance(fmt, Mapping) and fmt.get("type") == "text"):
        return None
    if not isinstance(fmt, Mapping):
        raise ApiError(400, "'text.format' must be an object.")
    if fmt.get("type") == "json_object":
        return json_object_grammar()
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), Mapping):
        return schema_grammar(dict(fmt["schema"]))
    raise ApiError(400, "'text.format' must be text, json_object or json_schema with a schema.")


async def responses(request: Request) -> Response:
    body = await read_json(request)
    if body.get("tools"):
        raise ApiError(400, "Tools are not supported on /v1/responses yet; use "
                       "/v1/chat/completions.", "unsupported_feature")  # fmt: skip
    messages = conversation(body)
    grammar = text_grammar(body)
    stream = bool(get(body, "stream", bool, False))
    target = await choose(request, body.get("model"), plain=grammar is None)
    if target.local is None:
        if grammar is not None:
            raise ApiError(400, "'text.format' is not forwarded to remote models.")
        run = remote_run(request, target, remote_sampling(request, body, SAMPLING_KEYS),
                         wire_messages(messages))  # fmt: skip
    else:
        prepared = target.local
        rendered = render_chat(prepared.builder, messages)
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None:
            far = remote_sampling(request, body, SAMPLING_KEYS)
            fallback = Fallback(target.rule, wire_messages(messages), far, prepared.engine)
        run = Run(request, prepared, generation(rendered, sampling, grammar), fallback)
    shape = _Shape(run, body)
    if not stream:
        text = await run.whole()
        return JSONResponse(shape.response(text, done=True), headers=run.headers())
    await run.start()
    return sse_response(shape.events(), run.close, run.headers())


class _Shape:
    """The response object and the stream's event sequence for one run."""

    def __init__(self, run: Run, body: Mapping[str, Any]) -> None:
        self.run = run
        self.body = body
        self.id = f"resp_{secrets.token_hex(12)}"
        self.item_id = f"msg_{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.sequence = 0

    def _part(self, text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _item(self, text: str | None) -> dict[str, Any]:
        """The message item: in progress (no text yet) or completed with ``text``."""
        return {
            "type": "message",
            "id": self.item_id,
            "status": "in_progress" if text is None else "completed",
            "role": "assistant",
            "content": [] if text is None else [self._part(text)],
        }

    def response(self, text: str | None, done: bool) -> dict[str, Any]:
        run = self.run
        cut = done and run.stop_reason in ("max_tokens", "context_limit")
        status = ("incomplete" if cut else "completed") if done else "in_progress"
        usage = None
        if done:
            p, c = run.prompt_tokens, run.completion_tokens
            usage = {
                "input_tokens": p,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": c,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": p + c,
            }
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
            "instructions": self.body.get("instructions"),
            "max_output_tokens": self.body.get("max_output_tokens"),
            "model": run.model_id,
            "output": [self._item(text)] if done else [],
            "parallel_tool_calls": False,
            "temperature": self.body.get("temperature"),
            "top_p": self.body.get("top_p"),
            "tool_choice": "none",
            "tools": [],
            "text": self.body.get("text") or {"format": {"type": "text"}},
            "metadata": self.body.get("metadata") or {},
            "usage": usage,
        }

    def _event(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(event, kind)

    async def events(self) -> AsyncIterator[bytes]:
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        yield self._event("response.created", response=self.response(None, done=False))
        yield self._event("response.in_progress", response=self.response(None, done=False))
        yield self._event("response.output_item.added", output_index=0, item=self._item(None))
        yield self._event("response.content_part.added", part=self._part(""), **where)
        try:
            async for text in self.run.chunks():
                yield self._event("response.output_text.delta", delta=text, logprobs=[], **where)
        except ApiError as exc:
            error = error_body("openai", exc.status, exc.message)["error"]
            yield self._event("error", code=error["type"], message=error["message"], param=None)
            return
        text = "".join(self.run.text_parts)
        yield self._event("response.output_text.done", text=text, logprobs=[], **where)
        yield self._event("response.content_part.done", part=self._part(text), **where)
        yield self._event("response.output_item.done", output_index=0, item=self._item(text))
        yield self._event("response.completed", response=self.response(text, done=True))


ROUTES = [Route("/v1/responses", responses, methods=["POST"])]
