"""Constrained output: JSON mode, JSON schemas and forced tool calls as GBNF grammars.

llama-cpp-python ships the JSON-schema converter (pure Python); it is imported on first use
so a server that never needs a grammar never pays for it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from app.backend.server.errors import ApiError

_ROOT = re.compile(r"^root\s*::=", re.MULTILINE)


def _converter() -> Any:
    from llama_cpp import llama_grammar

    return llama_grammar


def json_object_grammar() -> str:
    """Any JSON object (OpenAI ``json_object``, Ollama ``format: "json"``)."""
    return str(_converter().JSON_GBNF)


def schema_grammar(schema: Any) -> str:
    """A grammar for ``schema`` (a JSON Schema object); 400 if it cannot be converted."""
    if not isinstance(schema, dict):
        raise ApiError(400, "The JSON schema must be an object.")
    try:
        return str(_converter().json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:
        raise ApiError(400, f"The JSON schema is not supported: {exc}") from exc


# ------------------------------------------------------------------ tool calls
@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    def openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }


def tool_style(template: str | None) -> str:
    """How the model's template writes a call: Hermes/Qwen ``<tool_call>`` or plain JSON."""
    return "hermes" if template and "<tool_call>" in template else "json"


def tool_functions(tools: Any) -> list[dict[str, Any]]:
    """The ``function`` objects of an OpenAI ``tools`` list, validated."""
    if not isinstance(tools, list):
        raise ApiError(400, "'tools' must be a list.")
    functions = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(400, "Each tool needs a 'function' with a 'name'.")
        functions.append(function)
    return functions


def tool_call_grammar(functions: list[dict[str, Any]], style: str) -> str:
    """A grammar that admits exactly one call to one of ``functions``.

    The argument key follows the template: Llama 3.1 writes ``parameters``, Hermes/Qwen
    ``arguments``; the parser accepts either.
    """
    key = "arguments" if style == "hermes" else "parameters"
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                key: f.get("parameters") or {"type": "object"},
            },
            "required": ["name", key],
        }
        for f in functions
    ]
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    grammar = schema_grammar(schema)
    if style != "hermes":
        return grammar
    inner = _ROOT.sub("tool-call ::=", grammar, count=1)
    return 'root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"\n' + inner


_CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def parse_tool_calls(text: str, functions: list[dict[str, Any]]) -> list[ToolCall] | None:
    """Tool calls in a reply (Hermes blocks, a JSON object or a list of them), else None."""
    names = {f["name"] for f in functions}
    cleaned = text.replace("<|python_tag|>", "").strip()
    blocks = _CALL_BLOCK.findall(cleaned) or [cleaned]
    calls: list[ToolCall] = []
    for block in blocks:
        try:
            data = json.loads(block)
        except ValueError:
            return None
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict) or item.get("name") not in names:
                return None
            args = item.get("parameters", item.get("arguments", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    return None
            if not isinstance(args, dict):
                return None
            calls.append(ToolCall(f"call_{secrets.token_hex(8)}", item["name"], args))
    return calls or None


def forced_functions(functions: list[dict[str, Any]], choice: Any) -> list[dict[str, Any]] | None:
    """Which functions a ``tool_choice`` forces (None: the model may answer in text)."""
    if choice in (None, "auto", "none"):
        return None
    if choice == "required":
        return functions
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        chosen = [f for f in functions if f["name"] == name]
        if not chosen:
            raise ApiError(400, f"'tool_choice' names an unknown function '{name}'.")
        return chosen
    raise ApiError(400, "'tool_choice' must be 'none', 'auto', 'required' or a function.")
