"""OpenAI's Responses API, ``POST /v1/responses``: text and function calls, streamed or not.

Newer OpenAI SDK code and agents start here rather than at chat completions. Covered:
``input`` as a string or items (messages with ``input_text`` / ``output_text`` parts,
``function_call`` and ``function_call_output``), ``instructions``, ``max_output_tokens``,
``temperature``, ``top_p``, ``text.format`` (JSON object or schema, enforced by a grammar),
function ``tools`` with ``tool_choice`` (on the chat-completions tool machinery), and the
streaming event sequence. Refused with a 400 rather than ignored: built-in tools (web or
file search...), images, and ``previous_response_id`` (Hearth keeps no responses).
"""

from __future__ import annotations

import json
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
from app.backend.server.grammars import (
    json_object_grammar,
    parse_tool_calls,
    schema_grammar,
)
from app.backend.server.prompts import (
    arguments_dict,
    render_with_tools,
    sampling_from,
    with_prompt_stops,
)
from app.backend.server.streaming import sse, sse_response

SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max_tokens",
}
ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def conversation(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``instructions`` and ``input`` as chat messages (calls and their outputs included)."""
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
        return messages
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'input' must be a string or a non-empty list of items.")
    for item in raw:
        kind = item.get("type", "message") if isinstance(item, Mapping) else None
        if kind == "function_call":
            call = _function_call(item)
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)  # parallel calls: one assistant turn
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            messages.append(
                {"role": "tool", "tool_call_id": str(item.get("call_id") or ""), "content": text}
            )
        else:
            messages.append(_message(item))
    return messages


def _function_call(item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item.get("name"), str):
        raise ApiError(400, "A 'function_call' item needs a 'name'.")
    return {
        "id": str(item.get("call_id") or ""),
        "type": "function",
        "function": {"name": item["name"], "arguments": arguments_dict(item.get("arguments"))},
    }


def _message(item: Any) -> dict[str, Any]:
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


def functions_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Function ``tools`` as chat-completions ``function`` objects; built-in tools refused."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise ApiError(400, "'tools' must be a list.")
    functions = []
    for tool in tools:
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            raise ApiError(400, f"Only function tools are supported (not '{kind}').")
        if not isinstance(tool.get("name"), str):
            raise ApiError(400, "Each function tool needs a 'name'.")
        function: dict[str, Any] = {
            "name": tool["name"],
            "parameters": tool.get("parameters") or {"type": "object"},
        }
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        functions.append(function)
    return functions


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
    functions = functions_of(body)
    choice = body.get("tool_choice")
    use_tools = bool(functions) and choice != "none"
    messages = conversation(body)
    grammar = text_grammar(body)
    stream = bool(get(body, "stream", bool, False))
    plain = grammar is None and not functions
    target = await choose(request, body.get("model"), plain=plain)
    if target.local is None:
        if not plain:
            raise ApiError(400, "Tools and 'text.format' are not forwarded to remote models.",
                           "unsupported_feature")  # fmt: skip
        run = remote_run(request, target, remote_sampling(request, body, SAMPLING_KEYS),
                         wire_messages(messages))  # fmt: skip
    else:
        prepared = target.local
        rendered, grammar = render_with_tools(
            prepared.builder, messages, functions, choice, grammar, "'text.format'"
        )
        sampling = sampling_from(base_sampling(request, prepared.engine), body, SAMPLING_KEYS)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None and plain:
            far = remote_sampling(request, body, SAMPLING_KEYS)
            fallback = Fallback(target.rule, wire_messages(messages), far, prepared.engine)
        run = Run(request, prepared, generation(rendered, sampling, grammar), fallback)
    shape = _Shape(run, body, functions if use_tools else [])
    if not stream:
        text = await run.whole()
        return JSONResponse(shape.response(shape.output(text)), headers=run.headers())
    await run.start()
    return sse_response(shape.events(), run.close, run.headers())


class _Shape:
    """The response object and the stream's event sequence for one run."""

    def __init__(self, run: Run, body: Mapping[str, Any], functions: list[dict[str, Any]]):
        self.run = run
        self.body = body
        self.functions = functions  # empty: plain text; else a reply may be a call
        self.id = f"resp_{secrets.token_hex(12)}"
        self.message_id = f"msg_{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.sequence = 0

    # ------------------------------------------------------------------ objects
    def output(self, text: str) -> list[dict[str, Any]]:
        """The output items for a finished reply: its function calls, else one message."""
        calls = parse_tool_calls(text, self.functions) if self.functions else None
        if not calls:
            return [self._message(text)]
        return [
            {
                "type": "function_call",
                "id": f"fc_{secrets.token_hex(12)}",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
                "status": "completed",
            }
            for call in calls
        ]

    def _part(self, text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _message(self, text: str | None) -> dict[str, Any]:
        """The message item: in progress (no text yet) or completed with ``text``."""
        return {
            "type": "message",
            "id": self.message_id,
            "status": "in_progress" if text is None else "completed",
            "role": "assistant",
            "content": [] if text is None else [self._part(text)],
        }

    def response(self, output: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The response object; ``output`` None while it is still being written."""
        run = self.run
        done = output is not None
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
            "output": output or [],
            "parallel_tool_calls": True,
            "temperature": self.body.get("temperature"),
            "top_p": self.body.get("top_p"),
            "tool_choice": self.body.get("tool_choice") or "auto",
            "tools": self.body.get("tools") or [],
            "text": self.body.get("text") or {"format": {"type": "text"}},
            "metadata": self.body.get("metadata") or {},
            "usage": usage,
        }

    # ------------------------------------------------------------------ stream
    def _event(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(event, kind)

    async def events(self) -> AsyncIterator[bytes]:
        yield self._event("response.created", response=self.response(None))
        yield self._event("response.in_progress", response=self.response(None))
        where = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
        streaming_text = not self.functions  # with tools, a call is known only at the end
        if streaming_text:
            yield self._event(
                "response.output_item.added", output_index=0, item=self._message(None)
            )
            yield self._event("response.content_part.added", part=self._part(""), **where)
        try:
            async for text in self.run.chunks():
                if streaming_text:
                    yield self._event(
                        "response.output_text.delta", delta=text, logprobs=[], **where
                    )
        except ApiError as exc:
            error = error_body("openai", exc.status, exc.message)["error"]
            yield self._event("error", code=error["type"], message=error["message"], param=None)
            return
        text = "".join(self.run.text_parts)
        output = self.output(text)
        if streaming_text:
            for event in self._text_done(text):
                yield event
        else:
            for index, item in enumerate(output):
                for event in self._whole_item(index, item):
                    yield event
        yield self._event("response.completed", response=self.response(output))

    def _text_done(self, text: str) -> list[bytes]:
        where = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
        return [
            self._event("response.output_text.done", text=text, logprobs=[], **where),
            self._event("response.content_part.done", part=self._part(text), **where),
            self._event("response.output_item.done", output_index=0, item=self._message(text)),
        ]

    def _whole_item(self, index: int, item: dict[str, Any]) -> list[bytes]:
        """A finished item as the events a stream gives it (added, its content, done)."""
        if item["type"] == "message":
            text = item["content"][0]["text"]
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            return [
                self._event("response.output_item.added", output_index=index,
                            item=self._message(None)),
                self._event("response.content_part.added", part=self._part(""), **where),
                self._event("response.output_text.delta", delta=text, logprobs=[], **where),
                *self._text_done(text),
            ]  # fmt: skip
        opened = {**item, "arguments": "", "status": "in_progress"}
        where = {"item_id": item["id"], "output_index": index}
        return [
            self._event("response.output_item.added", output_index=index, item=opened),
            self._event("response.function_call_arguments.delta", delta=item["arguments"], **where),
            self._event("response.function_call_arguments.done", arguments=item["arguments"],
                        name=item["name"], **where),
            self._event("response.output_item.done", output_index=index, item=item),
        ]  # fmt: skip


ROUTES = [Route("/v1/responses", responses, methods=["POST"])]
