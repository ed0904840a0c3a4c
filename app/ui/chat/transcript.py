"""The conversation as one document: cheap to append to while a reply streams.

Tokens are buffered and drained on a ~30 ms timer; appending text at the end cursor costs a
fraction of a millisecond, while re-rendering a whole message per token would cost 10-45 ms.
The view follows new text only while the user is at the bottom, so scrolling up to read is
never fought.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.backend.chats import Message

DRAIN_INTERVAL_MS = 30
_ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}
_STATUS_NOTES = {
    "interrupted": "Interrupted",
    "error": "Failed",
    "cancelled": "Stopped",
    "streaming": "Writing…",
}


class Transcript(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self.setAccessibleName("Conversation")
        self.setPlaceholderText("")
        self._pending: list[str] = []
        self._streaming_id: int | None = None
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_INTERVAL_MS)
        self._drain.timeout.connect(self._flush)
        self.streamed_text = ""

    def show_messages(self, messages: list[Message], empty_hint: str = "") -> None:
        """Render a whole conversation (on open, and after a reply ends)."""
        self._pending.clear()
        parts = [_message_html(m) for m in messages if m.role != "system"]
        if not parts and empty_hint:
            parts = [f'<p style="color:#888; margin-top:40px" align="center">{empty_hint}</p>']
        self.setHtml("".join(parts))
        self._scroll_to_end()

    @Slot(int)
    def begin_stream(self, message_id: int) -> None:
        self._streaming_id = message_id
        self.streamed_text = ""
        self._drain.start()

    @Slot(int, str, int)
    def append_chunk(self, message_id: int, text: str, _n_tokens: int) -> None:
        if message_id == self._streaming_id and text:
            self._pending.append(text)

    def end_stream(self) -> None:
        self._flush()
        self._drain.stop()
        self._streaming_id = None

    def _flush(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self.streamed_text += text
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_bottom:
            self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())


def _message_html(message: Message) -> str:
    role = _ROLE_NAMES.get(message.role, message.role)
    body = html.escape(message.content).replace("\n", "<br>")
    footer = ""
    if message.role == "assistant":
        notes: list[str] = []
        if message.status in _STATUS_NOTES and message.status != "streaming":
            notes.append(_STATUS_NOTES[message.status])
        if message.error:
            notes.append(html.escape(message.error))
        stats = message.stats
        if stats is not None and stats.completion_tokens:
            notes.append(
                f"{stats.tokens_per_second:.1f} tok/s · {stats.completion_tokens} tokens · "
                f"{stats.time_to_first_token_s:.2f}s to first token"
            )
        if message.stop_reason and message.status == "complete":
            notes.append(f"Stop reason: {message.stop_reason.replace('_', ' ')}")
        if notes:
            footer = f'<p style="color:#888; font-size:small">{" · ".join(notes)}</p>'
    color = "#4a7dff" if message.role == "user" else "#16a085"
    return (
        f'<p style="margin-top:14px"><b style="color:{color}">{role}</b></p>'
        f'<p>{body}</p>{footer}'
    )
