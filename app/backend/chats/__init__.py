"""Chat history: conversations and messages in one SQLite database."""

from app.backend.chats.models import (
    ChatNotFoundError,
    ChatStoreError,
    Conversation,
    Message,
    MessageStatus,
    Role,
)
from app.backend.chats.schema import SCHEMA_VERSION
from app.backend.chats.store import UNSET, ChatStore

__all__ = [
    "SCHEMA_VERSION",
    "UNSET",
    "ChatNotFoundError",
    "ChatStore",
    "ChatStoreError",
    "Conversation",
    "Message",
    "MessageStatus",
    "Role",
]
