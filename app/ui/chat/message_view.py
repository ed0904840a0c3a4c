"""One message of the transcript: header, collapsible reasoning, Markdown body, stats, actions.

While a reply streams, tokens are appended as plain text to a small "tail" view (a fraction
of a millisecond), and ``rerender`` (called every ~200 ms) turns the text into Markdown in
two parts: blocks that can no longer change (a blank line outside a code fence follows
them) are rendered once and appended to the frozen part; only the open tail is re-rendered,
in its own small document. The frozen part is split into segments of ``SEGMENT_CHARS``, so
appending to it costs the same at 50 kB as at 1 kB (a QTextDocument's incremental layout
and paint grow with its size). When the reply ends the tail is frozen too.

A finished answer over ``LONG_ANSWER_CHARS`` (opening a chat, a theme change) is rendered in
parts, one document per event-loop turn, so a 50 kB reply never freezes the window.
"""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QSize, QSizeF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QTextCursor,
    QTextDocument,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.backend.chats import Message
from app.backend.markdown_render import (
    COPY_SCHEME,
    MarkdownStyle,
    render_markdown,
    split_blocks,
    stable_prefix_length,
)
from app.backend.reasoning import format_duration, split_reasoning
from app.ui.chat.message_editor import MessageEditor
from app.ui.chat.render_html import header_html, stats_html
from app.ui.theme import Colors, current_colors

#: Characters of open tail (text after the last finished block) re-rendered while streaming.
TAIL_RENDER_LIMIT = 6_000
#: A streaming reply's frozen text goes into a new document after this many characters.
SEGMENT_CHARS = 8_000
#: A finished answer longer than this is rendered in parts of about ``PART_CHARS``.
LONG_ANSWER_CHARS = 12_000
PART_CHARS = 4_000


def markdown_style(c: Colors) -> MarkdownStyle:
    return MarkdownStyle(
        dark=c.name == "dark",
        text=c.text,
        muted=c.muted,
        code_bg=c.surface_alt,
        border=c.border,
        link=c.accent,
    )


class _Body(QTextBrowser):
    """A text view exactly as tall as its text; vertical wheel events go to the transcript.

    Prose wraps at the view's width; code lines never wrap (Qt keeps ``<pre>`` lines whole),
    so a message with a long code line gets a horizontal scroll bar of its own instead of
    the line being cut off."""

    copy_block = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.horizontalScrollBar().rangeChanged.connect(self._refit)
        self.setOpenLinks(False)
        # Files dropped on a message go to the transcript (attachments), not into the text.
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(0)
        self.document().setUndoRedoEnabled(False)  # streaming edits would pile up undo steps
        self.viewport().setAutoFillBackground(False)  # the message's background shows through
        # Overrides the app's input-box look (border, padding), which would also clip the text.
        self.setStyleSheet("QTextBrowser { background: transparent; border: none; padding: 0; }")
        self.anchorClicked.connect(self._on_anchor)
        layout = self.document().documentLayout()
        layout.documentSizeChanged.connect(self._fit)
        self.setFixedHeight(24)

    def _fit(self, size: QSizeF) -> None:
        height = math.ceil(size.height()) + 4
        bar = self.horizontalScrollBar()
        if bar.maximum() > 0:  # room for the scroll bar under the text
            height += bar.sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)

    def _refit(self, _low: int = 0, _high: int = 0) -> None:
        self._fit(self.document().documentLayout().documentSize())

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if abs(delta.x()) > abs(delta.y()) and self.horizontalScrollBar().maximum() > 0:
            super().wheelEvent(event)  # sideways (or Shift+wheel): along a long code line
        else:
            event.ignore()  # let the transcript scroll

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            self.copy_block.emit(int(url.path() or "0"))
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)


def _tool(text: str, name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class MessageView(QFrame):
    """Shows one message; asks for actions through ``action(name, message id)``."""

    action = Signal(str, int)
    edited = Signal(int, str)
    #: The user is leaving an edit with unsaved changes (Escape, focus elsewhere).
    leave_edit = Signal(QWidget)
    #: A long message finished rendering in parts (find in chat counts it again).
    rendered = Signal()

    def __init__(self, message: Message, show_stats: bool = True) -> None:
        super().__init__()
        self.setObjectName("userMessage" if message.role == "user" else "assistantMessage")
        self.message = message
        self.show_stats = show_stats
        self.code_blocks: list[str] = []
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        # Version arrows and the reasoning toggle are built when a message needs them: every
        # widget costs ~1 ms of style polish when a chat opens, and most messages have neither.
        self._versions: tuple[QToolButton, QLabel, QToolButton] | None = None
        self._reasoning: tuple[QToolButton, QLabel] | None = None
        self.body = _Body()
        self.body.setAccessibleName("Message text")
        self.footer = QLabel()
        self.footer.setTextFormat(Qt.TextFormat.RichText)
        self.footer.setWordWrap(True)
        self.copy_button = _tool("Copy", "Copy message", "Copy this message")
        self.edit_button = _tool(
            "Edit", "Edit message", "Edit this message (keeps the old version)"
        )
        self.regenerate_button = _tool("↻ Regenerate", "Regenerate", "Write this reply again")
        self.continue_button = _tool("Continue", "Continue reply", "Continue writing this reply")
        self.delete_button = _tool("Delete", "Delete message", "Delete this message")

        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.header)
        top.addStretch(1)
        self._top = top
        actions = QHBoxLayout()
        actions.setSpacing(2)
        for button in (
            self.copy_button,
            self.edit_button,
            self.regenerate_button,
            self.continue_button,
            self.delete_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 6)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.body)
        layout.addWidget(self.footer)
        layout.addLayout(actions)

        mid = message.id
        self.copy_button.clicked.connect(self.copy_text)
        self.edit_button.clicked.connect(self.start_edit)
        self.regenerate_button.clicked.connect(lambda: self.action.emit("regenerate", mid))
        self.continue_button.clicked.connect(lambda: self.action.emit("continue", mid))
        self.delete_button.clicked.connect(lambda: self.action.emit("delete", mid))
        self.body.copy_block.connect(self._copy_block)
        self._layout = layout
        self.edit_box: MessageEditor | None = None  # built on first Edit: most never are
        self._hidden_for_edit: list[_Body] = []
        self._streaming = False
        self._raw = ""
        self._frozen = 0  # characters of the answer rendered for good while streaming
        self._dirty = False
        self._rendered: str | None = None  # the text the body shows, rendered
        self._segments: list[_Body] = []  # frozen parts of a long streamed reply, after body
        self.tail: _Body | None = None  # the open end of a streaming reply (built on first use)
        self._parts: list[str] = []  # Markdown of a long message still to be shown
        self._style = MarkdownStyle()
        self._parts_timer = QTimer(self)
        self._parts_timer.setSingleShot(True)
        self._parts_timer.setInterval(0)
        self._parts_timer.timeout.connect(self._next_part)
        self.set_message(message)

    # ------------------------------------------------------------------ built on demand
    def _version_widgets(self) -> tuple[QToolButton, QLabel, QToolButton]:
        if self._versions is None:
            mid = self.message.id
            previous = _tool("‹", "Previous version", "Show the previous version")
            label = QLabel()
            label.setObjectName("muted")
            following = _tool("›", "Next version", "Show the next version")
            previous.clicked.connect(lambda: self.action.emit("previous", mid))
            following.clicked.connect(lambda: self.action.emit("next", mid))
            for widget in (previous, label, following):
                self._top.addWidget(widget)
            self._versions = (previous, label, following)
        return self._versions

    @property
    def prev_button(self) -> QToolButton:
        return self._version_widgets()[0]

    @property
    def versions(self) -> QLabel:
        return self._version_widgets()[1]

    @property
    def next_button(self) -> QToolButton:
        return self._version_widgets()[2]

    def _reasoning_widgets(self) -> tuple[QToolButton, QLabel]:
        if self._reasoning is None:
            button = _tool("", "Reasoning", "Show or hide the model's reasoning")
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            label = QLabel()
            label.setObjectName("reasoning")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()
            button.toggled.connect(label.setVisible)
            at = self._layout.indexOf(self.body)
            self._layout.insertWidget(at, button, 0, Qt.AlignmentFlag.AlignLeft)
            self._layout.insertWidget(at + 1, label)
            self._reasoning = (button, label)
        return self._reasoning

    @property
    def reasoning_button(self) -> QToolButton:
        return self._reasoning_widgets()[0]

    @property
    def reasoning(self) -> QLabel:
        return self._reasoning_widgets()[1]

    # ------------------------------------------------------------------ whole message
    def key(self) -> tuple[object, ...]:
        m = self.message
        return (m.id, m.content, m.status, m.alternatives, m.alternative_index, m.stop_reason)

    def set_message(self, message: Message, *, force: bool = False) -> None:
        """Render the whole message (on open, on theme change, and when a reply ends unless
        streaming already rendered exactly this text: a long reply is never rendered twice)."""
        same_body = not force and message.content == self._rendered and not self._streaming
        self.message = message
        self._streaming = False
        c = current_colors()
        self.header.setText(header_html(message, c))
        many = message.alternatives > 1
        if many or self._versions is not None:
            for widget in self._version_widgets():
                widget.setVisible(many)
            self.versions.setText(f"{message.alternative_index + 1}/{message.alternatives}")
            self.prev_button.setEnabled(message.alternative_index > 0)
            self.next_button.setEnabled(message.alternative_index < message.alternatives - 1)
        assistant = message.role == "assistant"
        for button in (self.regenerate_button, self.continue_button, self.delete_button):
            button.setEnabled(message.status != "streaming")
        self.regenerate_button.setVisible(assistant)
        self.continue_button.setVisible(
            assistant and message.stop_reason in ("max_tokens", "cancelled", "context_limit")
        )
        if message.role == "user":
            self._set_user_body(message, c)
            self._set_reasoning("", None, False)
        elif same_body and not isinstance(message.meta.get("json_pretty"), str):
            split = split_reasoning(message.content)
            self._set_reasoning(split.reasoning, message.meta.get("reasoning_s"), split.thinking)
        else:
            split = split_reasoning(message.content)
            self._set_reasoning(split.reasoning, message.meta.get("reasoning_s"), split.thinking)
            self._drop_stream_parts()
            self._render_answer(self._answer_text(split.answer), markdown_style(c))
            self._rendered = message.content
        footer = stats_html(message, c, self.show_stats) if assistant else ""
        footer += self._extras_html(message, c)
        self.footer.setText(footer)
        self.footer.setVisible(bool(footer))

    def _answer_text(self, answer: str) -> str:
        """Structured replies are shown as formatted JSON."""
        pretty = self.message.meta.get("json_pretty")
        return f"```json\n{pretty}\n```" if isinstance(pretty, str) else answer

    def _set_user_body(self, message: Message, c: Colors) -> None:
        text = html.escape(message.content.rstrip()).replace("\n", "<br>")
        self._drop_stream_parts()
        self.code_blocks = []
        self.body.setHtml(f'<p style="color:{c.text}">{text}</p>')

    def _set_reasoning(self, text: str, seconds: object, thinking: bool) -> None:
        has = bool(text.strip()) or thinking
        if not has and self._reasoning is None:
            return
        self.reasoning_button.setVisible(has)
        if not has:
            self.reasoning.hide()
            return
        if thinking:
            label = "Thinking…"
        elif isinstance(seconds, int | float):
            label = f"Thought for {format_duration(float(seconds))}"
        else:
            label = "Reasoning"
        arrow = "▾" if self.reasoning_button.isChecked() else "▸"
        self.reasoning_button.setText(f"{arrow} {label}")
        self.reasoning.setText(text)
        self.reasoning.setVisible(self.reasoning_button.isChecked())

    def _extras_html(self, message: Message, c: Colors) -> str:
        parts: list[str] = []
        routed = message.meta.get("route_notice")  # answered by a fallback model
        if isinstance(routed, str) and routed:
            parts.append(f"↪ {html.escape(routed)}")
        for attachment in message.attachments:
            parts.append(f"Attached: {html.escape(attachment.name)}")
        for cite in message.meta.get("citations", []) or []:
            if isinstance(cite, dict):
                excerpt = html.escape(str(cite.get("text", ""))[:140])
                parts.append(
                    f"<i>Cited {html.escape(str(cite.get('name', '')))}"
                    f" §{cite.get('index', 0)}:</i> “{excerpt}…”"
                )
        problem = message.meta.get("json_error")
        if isinstance(problem, str):
            parts.append(f'<span style="color:{c.danger}">✗ {html.escape(problem)}</span>')
        elif isinstance(message.meta.get("json_pretty"), str):
            parts.append(f'<span style="color:{c.success}">✓ Valid JSON for the schema</span>')
        if not parts:
            return ""
        return f'<p style="color:{c.muted}; font-size:small">{"<br>".join(parts)}</p>'

    # ------------------------------------------------------------------ streaming
    def bodies(self) -> list[_Body]:
        """The text views in order: the body, a long streamed reply's segments, its tail."""
        tail = [self.tail] if self.tail is not None and not self.tail.isHidden() else []
        return [self.body, *self._segments, *tail]

    def _new_body(self) -> _Body:
        body = _Body()
        body.setAccessibleName("Message text")
        body.copy_block.connect(self._copy_block)
        return body

    def _render_answer(self, answer: str, style: MarkdownStyle) -> None:
        """Render a whole answer; a long one in parts, one per event-loop turn.

        Measured: a 54 kB reply took ~180 ms in ``setHtml`` and ~200 ms of layout in one go,
        frozen window included; parts of ``PART_CHARS`` take a few tens of ms each, and the
        transcript follows them down as they appear."""
        if len(answer) <= LONG_ANSWER_CHARS:
            rendered = render_markdown(answer, style)
            self.code_blocks = rendered.code_blocks
            self.body.setHtml(rendered.html)
            return
        self.code_blocks = []
        self._style = style
        self._parts = split_blocks(answer, PART_CHARS)
        self._show_part(self.body)
        self._parts_timer.start()

    def _show_part(self, target: _Body) -> None:
        """Render the next part into ``target``; copy links continue the numbering."""
        rendered = render_markdown(self._parts.pop(0), self._style, len(self.code_blocks))
        self.code_blocks.extend(rendered.code_blocks)
        target.setHtml(rendered.html)

    def _next_part(self) -> None:
        if not self._parts:
            return
        segment = self._new_body()
        after = self._segments[-1] if self._segments else self.body
        self._layout.insertWidget(self._layout.indexOf(after) + 1, segment)
        segment.setVisible(after.isVisible())  # hidden while the message is being edited
        if not after.isVisible():
            self._hidden_for_edit.append(segment)
        self._segments.append(segment)
        self._show_part(segment)
        if self._parts:
            self._parts_timer.start()
        else:
            self.rendered.emit()

    @property
    def rendering(self) -> bool:
        """True while parts of a long message are still to be shown."""
        return bool(self._parts)

    def _drop_stream_parts(self) -> None:
        self._parts = []
        self._parts_timer.stop()
        for segment in self._segments:
            segment.deleteLater()
        self._segments = []
        if self.tail is not None:
            self.tail.clear()
            self.tail.hide()

    def begin_stream(self) -> None:
        """Stream into this view (a new reply, or one being continued)."""
        self._streaming = True
        self._rendered = None
        self._raw = self.message.content
        self._frozen = 0
        self._drop_stream_parts()
        self.code_blocks = []
        self.body.clear()
        if self.tail is None:
            self.tail = self._new_body()
            self._layout.insertWidget(self._layout.indexOf(self.body) + 1, self.tail)
        self.tail.show()
        self._dirty = True
        self.rerender()
        for button in (self.regenerate_button, self.continue_button, self.delete_button):
            button.setEnabled(False)

    def append(self, text: str) -> None:
        """Plain text at the end of the tail; Markdown comes with the next ``rerender``."""
        self._raw += text
        self._dirty = True
        split = split_reasoning(self._raw)
        if split.thinking or (split.has_reasoning and not split.answer) or self.tail is None:
            return  # still reasoning: shown by the next rerender, collapsed
        cursor = QTextCursor(self.tail.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def rerender(self, final: bool = False) -> None:
        """Freeze finished blocks (rendered once), and re-render the open tail.

        A tail longer than ``TAIL_RENDER_LIMIT`` (a long code block still open) stays as the
        plain text the appends wrote until it closes or the reply ends (``final``): its cost
        would otherwise grow with every re-render."""
        if not self._streaming or not self._dirty or self.tail is None:
            return
        split = split_reasoning(self._raw)
        answer = split.answer
        frozen = min(self._frozen, len(answer))
        stable = len(answer) if final else stable_prefix_length(answer, frozen)
        if not final and stable == frozen and len(answer) - stable > TAIL_RENDER_LIMIT:
            return
        self._dirty = False
        self._set_reasoning(split.reasoning, None, split.thinking)
        style = markdown_style(current_colors())
        if stable > frozen and answer[frozen:stable].strip():
            rendered = render_markdown(answer[frozen:stable], style, len(self.code_blocks))
            self._freeze(rendered.html)
            self.code_blocks.extend(rendered.code_blocks)
        self._frozen = stable
        tail = answer[stable:]
        if tail.strip():
            self.tail.setHtml(render_markdown(tail, style, len(self.code_blocks)).html)
        else:
            self.tail.clear()
        self.tail.setVisible(bool(tail.strip()))
        self._rendered = self._raw if not split.thinking else None

    def _freeze(self, rendered_html: str) -> None:
        """Append finished blocks to the last frozen segment (a new one when it is full)."""
        target = self._segments[-1] if self._segments else self.body
        if target.document().characterCount() > SEGMENT_CHARS:
            after = self._segments[-1] if self._segments else self.body
            target = self._new_body()
            self._layout.insertWidget(self._layout.indexOf(after) + 1, target)
            self._segments.append(target)
        document = target.document()
        cursor = QTextCursor(document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not document.isEmpty():
            cursor.insertBlock()
        cursor.insertHtml(rendered_html)

    def end_stream(self) -> None:
        self._streaming = False

    @property
    def streamed(self) -> str:
        return self._raw

    # ------------------------------------------------------------------ actions
    def plain_text(self) -> str:
        parts = [_plain(self.header.text())]
        if self._reasoning is not None and self.reasoning_button.isVisible():
            parts.append(self.reasoning_button.text())
        parts.extend(body.toPlainText() for body in self.bodies())
        if self.footer.text():
            parts.append(_plain(self.footer.text()))
        return "\n".join(p for p in parts if p)

    def html(self) -> str:
        bodies = "".join(body.toHtml() for body in self.bodies())
        return self.header.text() + bodies + self.footer.text()

    def copy_text(self) -> None:
        text = self.message.content
        if self.message.role == "assistant":
            text = split_reasoning(text).answer if split_reasoning(text).has_reasoning else text
        QGuiApplication.clipboard().setText(text)

    def _copy_block(self, index: int) -> None:
        if 0 <= index < len(self.code_blocks):
            QGuiApplication.clipboard().setText(self.code_blocks[index])

    def _build_editor(self) -> MessageEditor:
        box = MessageEditor(self.message.content, self.message.role == "user")
        self.editor = box.editor
        self.save_edit = box.save_button
        self.cancel_edit = box.cancel_button
        self._layout.insertWidget(self._layout.indexOf(self.body) + 1, box)
        box.saved.connect(self._save_edit)
        box.cancelled.connect(self._end_edit)
        box.leaving.connect(lambda: self.leave_edit.emit(self))
        return box

    def start_edit(self) -> None:
        if self.edit_box is None:
            self.edit_box = self._build_editor()
        self._hidden_for_edit = self.bodies()
        for body in self._hidden_for_edit:
            body.hide()
        self.edit_box.begin(self.message.content)

    def unsaved_edit(self) -> str | None:
        """The edited text, if this message is being edited and differs from the stored one."""
        return self.edit_box.unsaved() if self.edit_box is not None else None

    def keep_edit(self) -> None:
        """Save the edit being made (the answer to "Keep changes?")."""
        if self.edit_box is not None:
            self._save_edit(self.editor.toPlainText())

    def discard_edit(self) -> None:
        self._end_edit()

    def _save_edit(self, text: str) -> None:
        self._end_edit()
        if text.strip() and text != self.message.content:
            self.edited.emit(self.message.id, text)

    def _end_edit(self) -> None:
        if self.edit_box is not None:
            self.edit_box.finish()
        for body in self._hidden_for_edit or [self.body]:
            body.show()
        self._hidden_for_edit = []


def _plain(rich: str) -> str:
    """Plain text of a label's rich text (for tests, accessibility and copying)."""
    document = QTextDocument()
    document.setHtml(rich)
    return document.toPlainText().strip()
