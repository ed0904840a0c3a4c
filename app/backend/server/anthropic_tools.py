"""Anthropic's tool use on top of the OpenAI tool machinery (same templates, grammar, parser).

Anthropic describes tools as ``{name, description, input_schema}``, calls as ``tool_use``
content blocks and answers as ``tool_result`` blocks in the next user turn. Here they are
translated to the OpenAI shapes the chat templates expect (``tool_calls`` on assistant
messages, ``tool`` role messages), and calls found in a reply go back as ``tool_use`` blocks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from app.backend.server.errors import ApiError
from app.backend.server.grammars import ToolCall
from app.backend.server.prompts import text_of


def functions_of(tools: Any) -> list[dict[str, Any]]:
    """OpenAI ``function`` objects for Anthropic ``tools``, validated."""
    if not isinstance(tools, list):
        raise ApiError(400, "'tools' must be a list.")
    functions = []
    for tool in tools:
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise ApiError(400, "Each tool needs a 'name'.")
        schema = tool.get("input_schema", {"type": "object"})
        if not isinstance(schema, Mapping):
            raise ApiError(400, f"Tool '{tool['name']}': 'input_schema' must be an object.")
        function: dict[str, Any] = {"name": tool["name"], "parameters": dict(schema)}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        functions.append(function)
    return functions


def openai_choice(choice: Any) -> Any:
    """Anthropic ``tool_choice`` as the OpenAI value ``forced_functions`` understands."""
    if choice is None:
        return None
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind == "auto":
        return "auto"
    if kind == "none":
        return "none"
    if kind == "any":
        return "required"
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise ApiError(400, "'tool_choice' must be auto, any, none or {type: tool, name}.")


def conversation(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request's ``system`` and ``messages`` as OpenAI-shaped messages."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list.")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": text_of(system, "system")})
    for item in raw:
        if not isinstance(item, Mapping) or item.get("role") not in ("user", "assistant"):
            raise ApiError(400, "Each message needs a role of 'user' or 'assistant'.")
        messages.extend(_turn(item["role"], item.get("content")))
    return messages


def _turn(role: str, content: Any) -> list[dict[str, Any]]:
    """One Anthropic turn: its text, its ``tool_use`` calls, its ``tool_result`` answers."""
    if not isinstance(content, list):
        return [{"role": role, "content": text_of(content)}]
    texts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, Mapping):
            raise ApiError(400, "'content' parts must be objects.")
        kind = block.get("type", "text")
        if kind == "tool_use" and role == "assistant":
            calls.append(_call(block))
        elif kind == "tool_result" and role == "user":
            results.append(_result(block))
        else:
            texts.append(dict(block))
    turn: list[dict[str, Any]] = results  # answers first: they follow the previous call
    text = text_of(texts) if texts else ""
    if calls:
        turn.append({"role": "assistant", "content": text, "tool_calls": calls})
    elif text or not results:
        turn.append({"role": role, "content": text})
    return turn


def _call(block: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(block.get("name"), str):
        raise ApiError(400, "A 'tool_use' block needs a 'name'.")
    arguments = block.get("input", {})
    if not isinstance(arguments, Mapping):
        raise ApiError(400, "A 'tool_use' block's 'input' must be an object.")
    return {
        "id": str(block.get("id") or ""),
        "type": "function",
        "function": {"name": block["name"], "arguments": dict(arguments)},
    }


def _result(block: Mapping[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    text = text_of(content, "tool_result") if not isinstance(content, str) else content
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""), "content": text}


def tool_use_blocks(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "type": "tool_use",
            "id": f"toolu_{secrets.token_hex(12)}",
            "name": c.name,
            "input": c.arguments,
        }
        for c in calls
    ]


def input_json(block: Mapping[str, Any]) -> str:
    """A ``tool_use`` block's input as the one ``input_json_delta`` a stream sends."""
    return json.dumps(block["input"])
