"""Chat templates: sandboxed rendering, fallbacks for template-less models, mode choice."""

from app.backend.templates.choice import (
    TemplateChoice,
    TemplateOverride,
    choose_template,
    detect_template_family,
    fallback_family_for,
    instruction_tuning_evidence,
)
from app.backend.templates.fallbacks import FALLBACKS, FallbackTemplate, get_fallback
from app.backend.templates.render import (
    ChatTemplate,
    RenderedPrompt,
    render_chat,
    render_completion_prompt,
)
from app.backend.templates.sandbox import (
    DEFAULT_LIMITS,
    SandboxLimits,
    TemplateError,
    TemplateRefusedError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FALLBACKS",
    "ChatTemplate",
    "FallbackTemplate",
    "RenderedPrompt",
    "SandboxLimits",
    "TemplateChoice",
    "TemplateError",
    "TemplateOverride",
    "TemplateRefusedError",
    "choose_template",
    "detect_template_family",
    "fallback_family_for",
    "get_fallback",
    "instruction_tuning_evidence",
    "render_chat",
    "render_completion_prompt",
]
