"""Plain records returned by the chat store.

Timestamps are Unix epoch seconds (float) so they sort, compare and cross process boundaries
without time-zone questions; the UI formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from app.backend.engine.types import GenerationStats, SamplingParams

Role = Literal["system", "user", "assistant"]
MessageStatus = Literal["complete", "streaming", "interrupted", "error", "cancelled"]

ROLES: frozenset[str] = frozenset(get_args(Role))
STATUSES: frozenset[str] = frozenset(get_args(MessageStatus))
#: Statuses a streaming reply may end in.
FINAL_STATUSES: frozenset[str] = STATUSES - {"streaming"}


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    system_prompt: str = ""
    sampling: SamplingParams = field(default_factory=SamplingParams)
    model_id: str | None = None


@dataclass
class Message:
    id: int
    conversation_id: int
    role: Role
    content: str
    status: MessageStatus
    created_at: float
    stats: GenerationStats | None = None
    stop_reason: str | None = None
    error: str | None = None
    model_id: str | None = None


class ChatStoreError(Exception):
    """A chat could not be read or saved; ``str()`` is a sentence fit to show the user.

    ``sqlite_error`` keeps SQLite's own error name (e.g. ``SQLITE_FULL``) for logs and tests.
    """

    def __init__(self, message: str, *, sqlite_error: str | None = None) -> None:
        super().__init__(message)
        self.sqlite_error = sqlite_error


class ChatNotFoundError(ChatStoreError, LookupError):
    """The conversation or message does not exist (or is no longer streaming)."""
