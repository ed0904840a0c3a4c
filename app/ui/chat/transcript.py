"""The conversation as one document: cheap to append to while a reply streams.

Tokens are buffered and drained on a ~30 ms timer; appending text at the end cursor costs a
fraction of a millisecond, while re-rendering a whole message per token would cost 10-45 ms.
The view follows new text only while the user is at the bottom, so scrolling up to read is
never fought.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QTimer, Slot
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.backend.chats import Message
from app.ui.theme import Colors, current_colors

DRAIN_INTERVAL_MS = 30
_ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}
_STATUS_NOTES = {
    "interrupted": "Interrupted",
    "error": "Failed",
    "cancelled": "Stopped",
    "streaming": "Writing…",
}
_STOP_REASONS = {
    "eos": "end of text",
    "stop_string": "stop string",
    "max_tokens": "max tokens",
    "context_limit": "context full",
    "cancelled": "stopped by you",
    "error": "error",
}


class Transcript(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.setOpenExternalLinks(True)
        self.setAccessibleName("Conversation")
        self.setPlaceholderText("")
        self._pending: list[str] = []
        self._streaming_id: int | None = None
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_INTERVAL_MS)
        self._drain.timeout.connect(self._flush)
        self.streamed_text = ""
        self._shown: list[Message] = []
        self._hint = ""
        #: Follows the chat.show_generation_stats setting (statuses are always shown).
        self.show_stats = True

    def show_messages(self, messages: list[Message], empty_hint: str = "") -> None:
        """Render a whole conversation (on open, and after a reply ends)."""
        self._pending.clear()
        self._shown, self._hint = list(messages), empty_hint
        self.setHtml(render_messages(messages, empty_hint, current_colors(), self.show_stats))
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
        cursor.insertText(text, self._body_format())
        if at_bottom:
            self._scroll_to_end()

    def _body_format(self) -> QTextCharFormat:
        """Plain body text, so streamed text never inherits the header's bold colour."""
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(current_colors().text))
        return fmt

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def changeEvent(self, event: QEvent) -> None:
        """Re-colour the messages when the theme changes (not mid-stream: that re-renders)."""
        super().changeEvent(event)
        idle = self._streaming_id is None and bool(self._shown or self._hint)
        if event.type() == QEvent.Type.PaletteChange and idle:
            bar = self.verticalScrollBar()
            value = bar.value()
            colors = current_colors()
            self.setHtml(render_messages(self._shown, self._hint, colors, self.show_stats))
            bar.setValue(value)


def render_messages(
    messages: list[Message], empty_hint: str, colors: Colors, stats: bool = True
) -> str:
    """The conversation as HTML in ``colors``; ``stats`` adds the per-reply numbers."""
    parts = [_message_html(m, colors, stats) for m in messages if m.role != "system"]
    if not parts and empty_hint:
        parts = [
            f'<p align="center" style="color:{colors.muted}; margin-top:60px">'
            f"{html.escape(empty_hint)}</p>"
        ]
    return "".join(parts)


def _badge(text: str, colour: str) -> str:
    return f'<span style="color:{colour}; font-weight:600">■ {html.escape(text)}</span>'


def _stats_line(message: Message, c: Colors, with_stats: bool) -> str:
    notes: list[str] = []
    if message.status in ("interrupted", "error"):
        notes.append(_badge(_STATUS_NOTES[message.status], c.danger))
    elif message.status == "cancelled":
        notes.append(_badge(_STATUS_NOTES[message.status], c.warning_text))
    if message.error:
        notes.append(html.escape(message.error))
    stats = message.stats if with_stats else None
    if stats is not None and stats.completion_tokens:
        notes.append(
            f"{stats.tokens_per_second:.1f} tok/s · {stats.completion_tokens} tokens · "
            f"{stats.time_to_first_token_s:.2f}s to first token"
        )
    if with_stats and message.stop_reason and message.status == "complete":
        reason = _STOP_REASONS.get(message.stop_reason, message.stop_reason.replace("_", " "))
        notes.append(f"Stop reason: {html.escape(reason)}")
    if not notes:
        return ""
    return (
        f'<p style="color:{c.muted}; font-size:small; margin-top:2px; margin-bottom:6px">'
        f"{' &nbsp;·&nbsp; '.join(notes)}</p>"
    )


def _message_html(message: Message, c: Colors, with_stats: bool = True) -> str:
    role = _ROLE_NAMES.get(message.role, message.role)
    body = html.escape(message.content.rstrip()).replace("\n", "<br>")
    if message.role == "user":
        return (
            f'<table width="100%" cellspacing="0" cellpadding="10" border="0" '
            f'style="margin-top:14px; margin-bottom:4px" bgcolor="{c.surface_alt}"><tr><td>'
            f'<span style="color:{c.user}; font-weight:700">{role}</span><br>'
            f'<span style="color:{c.text}">{body}</span></td></tr></table>'
        )
    model = ""
    if message.role == "assistant" and message.model_id:
        model = (
            f' <span style="color:{c.muted}; font-size:small">'
            f"&nbsp;{html.escape(message.model_id)}</span>"
        )
    header = (
        f'<p style="margin-top:16px; margin-bottom:4px">'
        f'<span style="color:{c.assistant}; font-weight:700">{role}</span>{model}</p>'
    )
    footer = _stats_line(message, c, with_stats) if message.role == "assistant" else ""
    return f'{header}<p style="margin-top:0px; color:{c.text}">{body}</p>{footer}'
