"""Small HTML pieces of a message: its header (who wrote it) and its stats line."""

from __future__ import annotations

import html

from app.backend.chats import Message
from app.ui.theme import Colors

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}
STATUS_NOTES = {
    "interrupted": "Interrupted",
    "error": "Failed",
    "cancelled": "Stopped",
    "streaming": "Writing…",
}
STOP_REASONS = {
    "eos": "end of text",
    "stop_string": "stop string",
    "max_tokens": "max tokens",
    "context_limit": "context full",
    "cancelled": "stopped by you",
    "error": "error",
}


def header_html(message: Message, c: Colors) -> str:
    role = ROLE_NAMES.get(message.role, message.role)
    colour = c.user if message.role == "user" else c.assistant
    model = ""
    if message.role == "assistant" and message.model_id:
        model = (
            f' <span style="color:{c.muted}; font-size:small">'
            f"&nbsp;{html.escape(message.model_id)}</span>"
        )
    return f'<span style="color:{colour}; font-weight:700">{role}</span>{model}'


def _badge(text: str, colour: str) -> str:
    return f'<span style="color:{colour}; font-weight:600">■ {html.escape(text)}</span>'


def stats_html(message: Message, c: Colors, with_stats: bool) -> str:
    """Status badges, error, tokens/s, tokens, time to first token, stop reason."""
    notes: list[str] = []
    if message.status in ("interrupted", "error"):
        notes.append(_badge(STATUS_NOTES[message.status], c.danger))
    elif message.status == "cancelled":
        notes.append(_badge(STATUS_NOTES[message.status], c.warning_text))
    if message.error:
        notes.append(html.escape(message.error))
    stats = message.stats if with_stats else None
    if stats is not None and stats.completion_tokens:
        notes.append(
            f"{stats.tokens_per_second:.1f} tok/s · {stats.completion_tokens} tokens · "
            f"{stats.time_to_first_token_s:.2f}s to first token"
        )
    if with_stats and message.stop_reason and message.status == "complete":
        reason = STOP_REASONS.get(message.stop_reason, message.stop_reason.replace("_", " "))
        notes.append(f"Stop reason: {html.escape(reason)}")
    if not notes:
        return ""
    return (
        f'<p style="color:{c.muted}; font-size:small; margin-top:2px; margin-bottom:6px">'
        f"{' &nbsp;·&nbsp; '.join(notes)}</p>"
    )
