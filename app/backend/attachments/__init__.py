"""Files added to a message: their text (read safely), and the passages worth sending."""

from app.backend.attachments.reader import (
    MAX_FILE_BYTES,
    AttachmentError,
    Extracted,
    read_attachment,
)
from app.backend.attachments.retrieval import Passage, chunk_text, select_passages

__all__ = [
    "MAX_FILE_BYTES",
    "AttachmentError",
    "Extracted",
    "Passage",
    "chunk_text",
    "read_attachment",
    "select_passages",
]
