"""Chat history: conversations and messages in one SQLite database."""

from app.backend.chats.models import (
    OVERFLOW_POLICIES,
    Attachment,
    ChatNotFoundError,
    ChatStoreError,
    Conversation,
    ConversationOptions,
    Folder,
    Message,
    MessageStatus,
    OverflowPolicy,
    Preset,
    Role,
    SearchHit,
)
from app.backend.chats.schema import SCHEMA_VERSION
from app.backend.chats.store import UNSET, ChatStore

__all__ = [
    "OVERFLOW_POLICIES",
    "SCHEMA_VERSION",
    "UNSET",
    "Attachment",
    "ChatNotFoundError",
    "ChatStore",
    "ChatStoreError",
    "Conversation",
    "ConversationOptions",
    "Folder",
    "Message",
    "MessageStatus",
    "OverflowPolicy",
    "Preset",
    "Role",
    "SearchHit",
]
