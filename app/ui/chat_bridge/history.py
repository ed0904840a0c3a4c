"""The messages a reply is written from: reasoning left out, attachments put in, and the
context policy applied (the stored chat is never changed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.backend.attachments import select_passages
from app.backend.chats import Message
from app.backend.context_policy import Fit, fit_messages
from app.backend.reasoning import strip_reasoning

Count = Callable[[list[dict[str, Any]]], int]
#: Attachments take at most this share of the prompt budget before retrieval kicks in.
WHOLE_FILE_SHARE = 0.6
CHARS_PER_TOKEN = 3.5


@dataclass
class Prepared:
    fit: Fit
    #: Citations for the newest user message when passages (not whole files) were used.
    citations: list[dict[str, Any]] = field(default_factory=list)


def message_content(message: Message) -> str:
    """What the model reads for one stored message."""
    if message.role == "assistant":
        return strip_reasoning(message.content)
    cited = message.meta.get("citations")
    if isinstance(cited, list) and cited:
        quoted = "\n\n".join(
            f"[{c.get('name')} §{c.get('index')}]\n{c.get('text')}"
            for c in cited
            if isinstance(c, dict)
        )
        return f"{message.content}\n\nRelevant passages from the attached files:\n\n{quoted}"
    if message.attachments:
        files = "\n\n".join(f"--- {a.name} ---\n{a.text}" for a in message.attachments)
        return f"{message.content}\n\nAttached files:\n\n{files}"
    return message.content


def as_history(messages: list[Message]) -> list[dict[str, Any]]:
    return [
        {"role": m.role, "content": message_content(m)}
        for m in messages
        if m.role in ("user", "assistant") and (m.content or m.attachments)
    ]


def choose_passages(
    last: Message,
    earlier: list[Message],
    count: Count,
    budget: int,
    embed: Callable[[list[str]], list[list[float]]] | None,
) -> list[dict[str, Any]]:
    """Citations to use instead of whole files when the files do not fit the budget."""
    if not last.attachments or last.meta.get("citations"):
        return []
    whole = as_history([*earlier, last])
    if count(whole) <= budget * WHOLE_FILE_SHARE + count(as_history(earlier)):
        return []
    room = max(1000, int(budget * WHOLE_FILE_SHARE * CHARS_PER_TOKEN))
    files = [(a.name, a.text) for a in last.attachments]
    query = last.content or "summary"
    if embed is None:
        return []
    passages = select_passages(query, files, embed, room)
    return [
        {"name": p.source, "index": p.index, "text": p.text, "score": round(p.score, 3)}
        for p in passages
    ]


def prepare(
    messages: list[Message],
    count: Count,
    budget: int,
    policy: str,
) -> Fit:
    return fit_messages(as_history(messages), count, budget, policy)
