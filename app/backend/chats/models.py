"""Plain records returned by the chat store.

Timestamps are Unix epoch seconds (float) so they sort, compare and cross process boundaries
without time-zone questions; the UI formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from app.backend.engine.types import GenerationStats, SamplingParams

Role = Literal["system", "user", "assistant"]
MessageStatus = Literal["complete", "streaming", "interrupted", "error", "cancelled"]

ROLES: frozenset[str] = frozenset(get_args(Role))
STATUSES: frozenset[str] = frozenset(get_args(MessageStatus))
#: Statuses a streaming reply may end in.
FINAL_STATUSES: frozenset[str] = STATUSES - {"streaming"}


OverflowPolicy = Literal["stop", "truncate_middle", "rolling_window"]
OVERFLOW_POLICIES: tuple[str, ...] = get_args(OverflowPolicy)


@dataclass
class ConversationOptions:
    """Per-chat choices beyond sampling: what to do when the context is full, and an optional
    JSON schema that constrains replies."""

    overflow_policy: OverflowPolicy = "truncate_middle"
    json_schema: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"overflow_policy": self.overflow_policy, "json_schema": self.json_schema}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationOptions:
        policy = data.get("overflow_policy", "truncate_middle")
        if policy not in OVERFLOW_POLICIES:
            policy = "truncate_middle"
        schema = data.get("json_schema", "")
        return cls(policy, schema if isinstance(schema, str) else "")


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    system_prompt: str = ""
    sampling: SamplingParams = field(default_factory=SamplingParams)
    model_id: str | None = None
    folder_id: int | None = None
    pinned: bool = False
    deleted_at: float | None = None
    options: ConversationOptions = field(default_factory=ConversationOptions)


@dataclass(frozen=True)
class Folder:
    id: int
    name: str


@dataclass(frozen=True)
class Attachment:
    """A file's text added to a user message (kept so later turns and exports can use it)."""

    id: int
    message_id: int
    name: str
    kind: str
    size: int
    text: str


@dataclass(frozen=True)
class SearchHit:
    """A chat matching a search, with a short excerpt around the first match."""

    conversation_id: int
    title: str
    snippet: str
    message_id: int | None = None


@dataclass
class Preset:
    """A named system prompt + sampling parameters (+ options) to reuse across chats."""

    id: int
    name: str
    system_prompt: str = ""
    sampling: SamplingParams = field(default_factory=SamplingParams)
    options: ConversationOptions = field(default_factory=ConversationOptions)


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
    parent_id: int | None = None
    #: Free-form extras: reasoning time, citations of attachment passages, schema checks.
    meta: dict[str, Any] = field(default_factory=dict)
    #: How many versions this message has (edits, regenerations) and which one this is (0-based).
    alternatives: int = 1
    alternative_index: int = 0
    attachments: list[Attachment] = field(default_factory=list)


class ChatStoreError(Exception):
    """A chat could not be read or saved; ``str()`` is a sentence fit to show the user.

    ``sqlite_error`` keeps SQLite's own error name (e.g. ``SQLITE_FULL``) for logs and tests.
    """

    def __init__(self, message: str, *, sqlite_error: str | None = None) -> None:
        super().__init__(message)
        self.sqlite_error = sqlite_error


class ChatNotFoundError(ChatStoreError, LookupError):
    """The conversation or message does not exist (or is no longer streaming)."""
