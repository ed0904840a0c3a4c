"""Turning a conversation into the prompt text the engine tokenizes.

Two ways, matching the two chat modes:

* chat mode: the model's (or a fallback) Jinja chat template, rendered in the sandbox
  with the same variables HF transformers and llama-cpp-python pass;
* completion mode (base models): a plain-text transcript the model can continue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.backend.templates.sandbox import (
    DEFAULT_LIMITS,
    SandboxLimits,
    TemplateError,
    compile_template,
    render_compiled,
)

__all__ = [
    "COMPLETION_ASSISTANT_LABEL",
    "COMPLETION_USER_LABEL",
    "ChatTemplate",
    "RenderedPrompt",
    "render_chat",
    "render_completion_prompt",
]


@dataclass(frozen=True)
class RenderedPrompt:
    """Prompt text plus what the engine must know to tokenize and stop correctly.

    ``starts_with_bos`` is True when the text already begins with the BOS token text
    (most templates write ``{{ bos_token }}``): the engine must then *not* add a second
    BOS when tokenizing (``GenerationRequest.add_bos = not starts_with_bos``).
    ``stop`` lists extra stop strings the prompt style needs (completion mode).
    """

    text: str
    starts_with_bos: bool = False
    stop: tuple[str, ...] = ()


class ChatTemplate:
    """A chat template compiled once and rendered for every turn.

    Compiling parses and generates Python code (milliseconds for big templates);
    rendering the compiled template is cheap, so keep one per loaded model.
    """

    def __init__(self, source: str, *, name: str, limits: SandboxLimits = DEFAULT_LIMITS) -> None:
        self.source = source
        self.name = name
        self.limits = limits
        self._compiled = compile_template(source, template_name=name, limits=limits)

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        bos_token: str = "",
        eos_token: str = "",
        add_generation_prompt: bool = True,
        tools: list[Any] | None = None,
        **extra: Any,
    ) -> RenderedPrompt:
        """Renders a conversation; ``extra`` passes through (``enable_thinking``...)."""
        if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
            raise TemplateError(
                f"The chat template of '{self.name}' was given messages that are not a list",
                template_name=self.name,
            )
        context: dict[str, Any] = {
            "documents": None,
            **extra,
            "messages": [dict(message) for message in messages],
            "bos_token": bos_token,
            "eos_token": eos_token,
            "add_generation_prompt": add_generation_prompt,
            "tools": tools,
        }
        text = render_compiled(self._compiled, context, template_name=self.name, limits=self.limits)
        return RenderedPrompt(
            text=text, starts_with_bos=bool(bos_token) and text.startswith(bos_token)
        )

    def __repr__(self) -> str:
        return f"ChatTemplate(name={self.name!r}, chars={len(self.source)})"


def render_chat(
    template: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    template_name: str,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
    tools: list[Any] | None = None,
    **extra: Any,
) -> str:
    """One-off render (compiles each time; use :class:`ChatTemplate` for repeated turns)."""
    return (
        ChatTemplate(template, name=template_name)
        .render(
            messages,
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
            tools=tools,
            **extra,
        )
        .text
    )


# --------------------------------------------------------------------------- completion mode

COMPLETION_USER_LABEL = "User"
COMPLETION_ASSISTANT_LABEL = "Assistant"
_ROLE_LABELS = {
    "user": COMPLETION_USER_LABEL,
    "assistant": COMPLETION_ASSISTANT_LABEL,
    "tool": "Tool",
}


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a multimodal part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        ]
        return "".join(texts)
    return str(content)


def render_completion_prompt(
    messages: Sequence[Mapping[str, Any]],
    system_prompt: str | None = None,
    *,
    style: Literal["transcript", "raw"] = "transcript",
) -> RenderedPrompt:
    """Prompt for a base model (no chat template): a transcript it can plausibly continue.

    ``transcript`` (default), for chatting with a base model::

        <system prompt>            (if any, then a blank line)

        User: <turn>
        Assistant: <turn>
        User: <turn>
        Assistant:

    The text ends with ``"Assistant:"`` so the model writes the next reply, and
    ``stop`` is ``("\\nUser:",)`` so generation ends when the model starts inventing the
    user's next turn. System messages inside ``messages`` join the system prompt.
    If the last message is already an assistant turn, its text is left open (no
    newline) so the model continues it.

    ``raw``, for "continue my text" use: the message contents concatenated as-is
    (the UI may also just send the raw text itself); no labels, no stop strings.

    The engine adds BOS itself (``starts_with_bos`` is False).
    """
    if style == "raw":
        return RenderedPrompt(text="".join(_content_text(m.get("content")) for m in messages))

    system_parts = [system_prompt.strip()] if system_prompt and system_prompt.strip() else []
    lines: list[str] = []
    for message in messages:
        role = str(message.get("role", "user"))
        text = _content_text(message.get("content")).strip()
        if role == "system":
            if text:
                system_parts.append(text)
            continue
        label = _ROLE_LABELS.get(role, role.capitalize() or COMPLETION_USER_LABEL)
        lines.append(f"{label}: {text}" if text else f"{label}:")

    ends_with_assistant = bool(messages) and str(messages[-1].get("role")) == "assistant"
    if not ends_with_assistant:
        lines.append(f"{COMPLETION_ASSISTANT_LABEL}:")
    header = "\n\n".join(system_parts)
    body = "\n".join(lines)
    text = f"{header}\n\n{body}" if header else body
    return RenderedPrompt(text=text, starts_with_bos=False, stop=(f"\n{COMPLETION_USER_LABEL}:",))
