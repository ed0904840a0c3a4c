"""Turning a conversation into the text a model reads.

Chat models get their chat template (or a fallback for their family); base models without a
template run in raw completion mode, where the conversation is laid out as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.backend.engine.types import ModelInfo
from app.backend.gguf import GGUFError, read_header
from app.backend.templates import (
    FALLBACKS,
    ChatTemplate,
    RenderedPrompt,
    TemplateChoice,
    TemplateError,
    TemplateOverride,
    choose_template,
    render_completion_prompt,
)

Mode = Literal["chat", "completion"]


class PromptError(Exception):
    """The conversation could not be turned into a prompt (bad template, unreadable model)."""


@dataclass
class PromptBuilder:
    """How one loaded model turns messages into a prompt."""

    choice: TemplateChoice
    bos_token: str
    eos_token: str
    model_name: str
    _compiled: ChatTemplate | None = None

    @property
    def mode(self) -> Mode:
        return self.choice.mode

    @property
    def reason(self) -> str:
        return self.choice.reason

    def render(
        self,
        messages: list[dict[str, Any]],
        *,
        system_prompt: str = "",
        mode: str | None = None,
        completion_style: Literal["transcript", "raw"] = "transcript",
    ) -> RenderedPrompt:
        """Render for ``mode`` (default: the model's). In completion mode, ``transcript`` lays
        a chat out as "User:/Assistant:" lines; ``raw`` continues the text as it is."""
        use_mode = mode or self.mode
        if use_mode == "completion" or not self.choice.template:
            return render_completion_prompt(messages, system_prompt, style=completion_style)
        full = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + messages
        try:
            if self._compiled is None:
                self._compiled = ChatTemplate(self.choice.template, name=self.model_name)
            rendered = self._compiled.render(
                full,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                add_generation_prompt=True,
            )
        except TemplateError as exc:
            raise PromptError(str(exc)) from exc
        family = FALLBACKS.get(self.choice.family or "")
        if family is None:
            return rendered
        return RenderedPrompt(
            rendered.text, rendered.starts_with_bos, (*rendered.stop, *family.stop)
        )

    def validate(self) -> None:
        """Compile the chat template now, so a refused template is reported at once."""
        if self.choice.mode == "chat" and self.choice.template and self._compiled is None:
            try:
                self._compiled = ChatTemplate(self.choice.template, name=self.model_name)
            except TemplateError as exc:
                raise PromptError(str(exc)) from exc


def prompt_builder_for(
    model_path: Path, info: ModelInfo | None, override: TemplateOverride | None = None
) -> PromptBuilder:
    """Choose the prompt format for a model from its GGUF metadata and name."""
    try:
        header = read_header(model_path)
    except GGUFError as exc:
        raise PromptError(str(exc)) from exc
    name = header.name or model_path.stem
    choice = choose_template(
        header.metadata, model_name=name, file_name=model_path.name, override=override
    )
    return PromptBuilder(
        choice=choice,
        bos_token=info.bos_token if info else "",
        eos_token=info.eos_token if info else "",
        model_name=name,
    )
