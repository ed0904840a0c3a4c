"""Request messages → the prompt a model reads, shared by the three dialects.

Chat models use their chat template (with ``tools`` when given); base models without one
get the transcript completion prompt the chat uses, so a chat endpoint still works on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from app.backend.engine.types import SamplingParams
from app.backend.prompting import PromptBuilder, PromptError
from app.backend.server.errors import ApiError
from app.backend.server.grammars import forced_functions, tool_call_grammar, tool_style
from app.backend.templates import FALLBACKS, ChatTemplate, RenderedPrompt, TemplateError

Message = dict[str, Any]


def text_of(content: Any, where: str = "content") -> str:
    """Message content as text: a string, or text parts (images are refused, not dropped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, Mapping):
                raise ApiError(400, f"'{where}' parts must be objects.")
            kind = part.get("type", "text")
            if kind == "text":
                parts.append(str(part.get("text", "")))
            else:
                raise ApiError(400, f"Content of type '{kind}' is not supported by this server.")
        return "".join(parts)
    raise ApiError(400, f"'{where}' must be a string or a list of parts.")


def supports_tools(builder: PromptBuilder) -> bool:
    template = builder.choice.template or ""
    return builder.mode == "chat" and "tools" in template


@lru_cache(maxsize=16)
def _compiled(source: str, name: str) -> ChatTemplate:
    return ChatTemplate(source, name=name)


def render_chat(
    builder: PromptBuilder, messages: list[Message], tools: list[dict[str, Any]] | None = None
) -> RenderedPrompt:
    """The prompt for a conversation; ``tools`` only where the template can show them."""
    if not messages:
        raise ApiError(400, "'messages' must not be empty.")
    try:
        if not tools:
            return builder.render(messages)
        if not supports_tools(builder):
            raise ApiError(400, "This model's chat template does not support tools.")
        assert builder.choice.template is not None
        rendered = _compiled(builder.choice.template, builder.model_name).render(
            messages,
            bos_token=builder.bos_token,
            eos_token=builder.eos_token,
            add_generation_prompt=True,
            tools=tools,
        )
    except (PromptError, TemplateError) as exc:
        raise ApiError(
            400, f"The conversation could not be formatted for this model: {exc}"
        ) from exc
    family = FALLBACKS.get(builder.choice.family or "")
    stop = (*rendered.stop, *(family.stop if family else ()))
    return RenderedPrompt(rendered.text, rendered.starts_with_bos, stop)


def render_with_tools(
    builder: PromptBuilder,
    messages: list[Message],
    functions: list[dict[str, Any]],
    choice: Any,
    grammar: str | None,
    format_name: str,
) -> tuple[RenderedPrompt, str | None]:
    """The prompt (tools shown unless ``choice`` is "none") and the output grammar: the
    given ``grammar`` (a response format), or one forcing a call when ``choice`` does.

    ``choice`` is in OpenAI's terms (each dialect translates its own); a forced call and a
    response format together are a 400 naming ``format_name``.
    """
    use_tools = bool(functions) and choice != "none"
    shown = [{"type": "function", "function": f} for f in functions] if use_tools else None
    rendered = render_chat(builder, messages, shown)
    forced = forced_functions(functions, choice) if use_tools else None
    if forced:
        if grammar:
            raise ApiError(400, f"Use either a forced tool call or {format_name}, not both.")
        grammar = tool_call_grammar(forced, tool_style(builder.choice.template))
    return rendered, grammar


def arguments_dict(arguments: Any) -> Any:
    """OpenAI sends tool-call arguments as a JSON string; templates expect an object."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return arguments
    return arguments


def sampling_from(
    base: SamplingParams, values: Mapping[str, Any], names: Mapping[str, str]
) -> SamplingParams:
    """``base`` with the request's values; ``names`` maps request keys → SamplingParams fields.

    Types are checked here so a malformed field becomes a 400, never an engine error.
    """
    result = SamplingParams.from_dict(base.to_dict())
    for key, field_name in names.items():
        value = values.get(key)
        if value is None:
            continue
        if field_name == "stop":
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise ApiError(400, f"'{key}' must be a string or a list of strings.")
            result.stop = [s for s in stops if s]
            continue
        expected = SamplingParams.__dataclass_fields__[field_name].type
        if "int" in str(expected) and "float" not in str(expected):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ApiError(400, f"'{key}' must be an integer.")
        elif not isinstance(value, int | float) or isinstance(value, bool):
            raise ApiError(400, f"'{key}' must be a number.")
        if field_name == "max_tokens" and value < 1:
            raise ApiError(400, f"'{key}' must be at least 1.")
        if field_name == "temperature" and value < 0:
            raise ApiError(400, f"'{key}' must not be negative.")
        if field_name in ("frequency_penalty", "presence_penalty") and not -2 <= value <= 2:
            raise ApiError(400, f"'{key}' must be between -2.0 and 2.0.")
        if field_name == "seed":
            value = value % 2**32
        setattr(result, field_name, value)
    return result


def with_prompt_stops(sampling: SamplingParams, rendered: RenderedPrompt) -> SamplingParams:
    sampling.stop = list(dict.fromkeys([*sampling.stop, *rendered.stop]))
    return sampling
