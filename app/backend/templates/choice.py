"""Deciding how Hearth talks to a model: chat (which template) or raw completion.

Order of precedence:

1. the user's per-model override (mode and/or edited template);
2. the template inside the GGUF file (``tokenizer.chat_template``);
3. no template but the model is instruction-tuned (name, file name or metadata say so):
   chat with a fallback chosen by architecture and name (ChatML when unknown);
4. otherwise a base model: raw completion, with the fallback family recorded so the
   UI can offer "switch to chat" in one click.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.backend.templates.fallbacks import DEFAULT_FAMILY, FALLBACKS, get_fallback

__all__ = [
    "TemplateChoice",
    "TemplateOverride",
    "choose_template",
    "detect_template_family",
    "fallback_family_for",
    "instruction_tuning_evidence",
]

ChatMode = Literal["chat", "completion"]
TemplateSource = Literal["model", "fallback", "user"]

CHAT_TEMPLATE_KEY = "tokenizer.chat_template"


@dataclass(frozen=True)
class TemplateOverride:
    """The user's per-model choice; ``None`` fields mean "keep the automatic choice"."""

    mode: ChatMode | None = None
    template: str | None = None


@dataclass(frozen=True)
class TemplateChoice:
    """How to prompt a model, and a sentence explaining why (shown in the UI).

    ``family`` is the template family in use (``None`` in completion mode or for an
    unrecognised model template); ``fallback_family`` is what Hearth would use if the
    user switches a template-less model to chat.
    """

    mode: ChatMode
    source: TemplateSource
    family: str | None
    template: str | None
    reason: str
    fallback_family: str | None = field(default=None)


# --------------------------------------------------------------------------- detection

_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
#: Whole tokens that mark an instruction/chat-tuned model.
_TUNED_TOKENS = frozenset(
    {"it", "instruct", "instruction", "chat", "sft", "dpo", "rlhf", "orpo", "kto", "conversational"}
)


def _tokens(text: str) -> list[str]:
    return [token for token in _TOKEN_SPLIT.split(text.lower()) if token]


def _tuned_token(text: str) -> str | None:
    for token in _tokens(text):
        if token in _TUNED_TOKENS or token.startswith("instruct") or token.endswith("instruct"):
            return token
    return None


def _as_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return [str(item) for item in value if isinstance(item, str)]
    return []


def instruction_tuning_evidence(
    metadata: Mapping[str, Any], *, model_name: str, file_name: str = ""
) -> str | None:
    """Why we believe the model is instruction-tuned, as a phrase for the UI; None if not."""
    sources: list[tuple[str, list[str]]] = [
        ("the model name says", [model_name, *_as_texts(metadata.get("general.name"))]),
        ("the file name says", [file_name]),
        ("the metadata (general.finetune) says", _as_texts(metadata.get("general.finetune"))),
        ("the metadata (general.basename) says", _as_texts(metadata.get("general.basename"))),
        ("the metadata tags say", _as_texts(metadata.get("general.tags"))),
    ]
    for phrase, texts in sources:
        for text in texts:
            token = _tuned_token(text)
            if token:
                return f"{phrase} it is instruction-tuned ({token})"
    return None


def fallback_family_for(
    metadata: Mapping[str, Any], *, model_name: str, file_name: str = ""
) -> str:
    """The fallback template family for a model, from its architecture and names."""
    arch = str(metadata.get("general.architecture") or "").lower()
    names = " ".join(
        [
            model_name,
            file_name,
            *_as_texts(metadata.get("general.name")),
            *_as_texts(metadata.get("general.basename")),
        ]
    ).lower()
    if arch.startswith("gemma") or (not arch and "gemma" in names):
        return "gemma"
    if arch.startswith("qwen"):
        return "chatml"
    if arch.startswith("phi3") or (not arch and re.search(r"phi[-_ ]?3", names)):
        return "phi3"
    if arch.startswith("mistral") or re.search(r"\b(mistral|mixtral|ministral)", names):
        return "mistral"
    if arch in ("llama", "") and re.search(r"llama[-_ ]?3", names):
        return "llama3"
    return DEFAULT_FAMILY


_FAMILY_MARKERS: tuple[tuple[str, str], ...] = (
    ("<start_of_turn>", "gemma"),
    ("<|start_header_id|>", "llama3"),
    ("<|im_start|>", "chatml"),
    ("<|assistant|>", "phi3"),
    ("[INST]", "mistral"),
)


def detect_template_family(template: str) -> str | None:
    """Which known family a template text belongs to (for stop strings); None if unknown."""
    for marker, family in _FAMILY_MARKERS:
        if marker in template:
            return family
    return None


# --------------------------------------------------------------------------- choice


def _model_template(metadata: Mapping[str, Any]) -> str | None:
    template = metadata.get(CHAT_TEMPLATE_KEY)
    if isinstance(template, bytes):
        template = template.decode("utf-8", errors="replace")
    if isinstance(template, str) and template.strip():
        return template
    return None


def choose_template(
    metadata: Mapping[str, Any],
    *,
    model_name: str,
    file_name: str = "",
    override: TemplateOverride | None = None,
) -> TemplateChoice:
    """Picks chat or completion mode and the template, with a user-facing reason."""
    model_template = _model_template(metadata)
    fallback_family = fallback_family_for(metadata, model_name=model_name, file_name=file_name)
    fallback = get_fallback(fallback_family)

    if override is not None and (override.mode is not None or override.template is not None):
        user_template = (
            override.template if override.template and override.template.strip() else None
        )
        mode: ChatMode = override.mode or "chat"
        if mode == "completion":
            return TemplateChoice(
                mode="completion",
                source="user",
                family=None,
                template=None,
                reason="You chose raw completion mode for this model.",
                fallback_family=fallback_family,
            )
        if user_template is not None:
            return TemplateChoice(
                mode="chat",
                source="user",
                family=detect_template_family(user_template),
                template=user_template,
                reason="Using your edited chat template for this model.",
                fallback_family=fallback_family,
            )
        if model_template is not None:
            return TemplateChoice(
                mode="chat",
                source="model",
                family=detect_template_family(model_template),
                template=model_template,
                reason="You chose chat mode; using the chat template in the model file.",
                fallback_family=fallback_family,
            )
        return TemplateChoice(
            mode="chat",
            source="fallback",
            family=fallback.family,
            template=fallback.template,
            reason=(
                f"You chose chat mode; the file has no chat template, so Hearth uses the "
                f"{fallback.display_name} template."
            ),
            fallback_family=fallback_family,
        )

    if model_template is not None:
        return TemplateChoice(
            mode="chat",
            source="model",
            family=detect_template_family(model_template),
            template=model_template,
            reason="Using the chat template in the model file.",
            fallback_family=fallback_family,
        )

    evidence = instruction_tuning_evidence(metadata, model_name=model_name, file_name=file_name)
    if evidence is not None:
        return TemplateChoice(
            mode="chat",
            source="fallback",
            family=fallback.family,
            template=fallback.template,
            reason=(
                f"No chat template in the file; using the {fallback.display_name} fallback "
                f"because {evidence}."
            ),
            fallback_family=fallback_family,
        )

    return TemplateChoice(
        mode="completion",
        source="fallback",
        family=None,
        template=None,
        reason=(
            "Base model without a chat template: raw completion mode. You can switch to "
            f"chat to try the {FALLBACKS[fallback_family].display_name} template."
        ),
        fallback_family=fallback_family,
    )
