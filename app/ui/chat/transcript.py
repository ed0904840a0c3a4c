"""The conversation: one widget per message, only the latest ones materialised.

Opening a chat of thousands of messages shows the last ``FIRST_PAGE`` of them (a "Show
earlier messages" button, or scrolling to the top, adds ``PAGE`` more). Views are built
bottom-up: the ones that fill the screen at once, the rest of the page in later event-loop
turns of at most ``BUILD_BUDGET_MS`` each, so first paint costs the same for 20 messages or
2,000 and scrolling up never freezes the window. Views are reused when a chat is shown
again and a message did not change, so a finished reply re-renders only itself.

Streaming: tokens are buffered and drained on a ~30 ms timer into the reply's view (plain
appends); its Markdown is re-rendered every ``RERENDER_MS`` (longer if a render costs more
than a tenth of that) and once at the end. The view follows new text only while the user is
at the bottom, so scrolling up to read is never fought.
"""

from __future__ import annotations

import html
import math
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.backend.chats import Message
from app.backend.markdown_render import warm_up
from app.ui.chat.find_in_chat import ChatFinder
from app.ui.chat.message_editor import keep_changes_box
from app.ui.chat.message_view import MessageView
from app.ui.chat.render_html import header_html, stats_html
from app.ui.theme import Colors, current_colors

DRAIN_INTERVAL_MS = 30
RERENDER_MS = 200
PAGE = 30
#: Views shown when a chat opens: enough to fill a tall window; the rest come on demand.
FIRST_PAGE = 12
#: Longest a turn of the event loop spends building views that are not on screen yet.
BUILD_BUDGET_MS = 12.0
#: After a chat opens, building pauses this long so its first screen is painted first.
FIRST_PAINT_MS = 30
#: Re-rendering may take at most this share of the streaming time.
RENDER_SHARE = 0.1

EMPTY_TITLE = "Start a conversation"
EMPTY_TIPS = (
    "Type below and press Enter to send (Shift+Enter for a new line).<br>"
    "Attach text files or PDFs; set a system prompt, preset or JSON schema on the right."
    "<br>Ctrl+N new chat · Ctrl+K search chats · Ctrl+R regenerate · Esc stop ·"
    " Ctrl+Tab next chat"
)


_warmed = threading.Event()


def _warm_markdown() -> None:
    """Load the Markdown renderer's lazy parts off the UI thread, once per process."""
    if not _warmed.is_set():
        _warmed.set()
        threading.Thread(target=warm_up, name="markdown-warm-up", daemon=True).start()


class Transcript(QScrollArea):
    #: (action, message id): copy/edit handled in the view; the rest go to the page.
    message_action = Signal(str, int)
    message_edited = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        _warm_markdown()
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._container = QWidget()
        self._container.setObjectName("transcriptBody")
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(12, 8, 12, 12)
        self._layout.setSpacing(6)
        self.more_button = QPushButton("Show earlier messages")
        self.more_button.setAccessibleName("Show earlier messages")
        self.more_button.hide()
        self.more_button.clicked.connect(self.show_earlier)
        self.empty = QLabel()
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.hide()
        self._layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)
        self.setWidget(self._container)

        self._views: list[MessageView] = []
        self._all: list[Message] = []
        self._first = 0  # index in _all of the first message to show
        self._built = 0  # index in _all of the first message that has a view (>= _first)
        self._builder = QTimer(self)
        self._builder.setSingleShot(True)
        self._builder.timeout.connect(self._build_some)
        self._revealing: tuple[int, Callable[[], None]] | None = None
        self._earlier_timer = QTimer(self)
        self._earlier_timer.setSingleShot(True)
        self._earlier_timer.setInterval(0)
        self._earlier_timer.timeout.connect(self.show_earlier)
        self.finder = ChatFinder(self)
        self._keep_box: QMessageBox | None = None
        self._keep_for: tuple[MessageView | None, int, str] = (None, 0, "")
        self._conversation: int | None = None
        self._pending: list[str] = []
        self._streaming: MessageView | None = None
        self._streaming_id: int | None = None
        self.streamed_text = ""
        self._hint = ""
        self._follow = True
        #: Follows the chat.show_generation_stats setting (statuses are always shown).
        self.show_stats = True
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_INTERVAL_MS)
        self._drain.timeout.connect(self._flush)
        self._render = QTimer(self)
        self._render.setInterval(RERENDER_MS)
        self._render.timeout.connect(self._rerender)
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # ------------------------------------------------------------------ showing
    def show_messages(self, messages: list[Message], empty_hint: str = "") -> None:
        """Show a conversation (on open, and after each change)."""
        shown = [m for m in messages if m.role != "system"]
        conversation = shown[0].conversation_id if shown else None
        switching = conversation != self._conversation or not self._views
        if switching:
            self._follow = True
            self._revealing = None
            self._edits_left_behind()
        self._conversation = conversation
        self._all = shown
        self._hint = empty_hint
        keep_from = 0 if switching else min(self._first, max(0, len(shown) - FIRST_PAGE))
        self._first = max(0, len(shown) - FIRST_PAGE) if switching else keep_from
        if switching:
            self._built = max(self._first, len(shown) - self._screenful(shown))
        else:
            self._built = max(self._first, min(self._built, len(shown) - 1))
        self._materialise()
        self._show_empty(not shown)
        self._schedule_build(first=switching)
        self.finder.refresh()

    def _screenful(self, messages: list[Message]) -> int:
        """How many of the latest messages fill the viewport (estimated from their text)."""
        width = max(200, self.viewport().width() - 60)
        line = max(12, self.fontMetrics().height())
        per_line = max(20, width // max(6, self.fontMetrics().averageCharWidth()))
        room = max(300, self.viewport().height())
        count = 0
        for message in reversed(messages):
            lines = sum(1 + len(part) // per_line for part in message.content.split("\n"))
            room -= 3 * line + 24 + lines * line  # header, actions and margins, then text
            count += 1
            if room <= 0 or count >= FIRST_PAGE:
                break
        return max(count, 2)

    def _schedule_build(self, first: bool = False) -> None:
        """Build the rest later; after a chat opens, only once its first screen is painted."""
        if self._built > self._first:
            self._builder.start(FIRST_PAINT_MS if first else 0)

    def _build_some(self) -> None:
        """Build views above the ones shown, newest first, for one budget of time."""
        started = time.perf_counter()
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        while self._built > self._first:
            self._built -= 1
            view = self._make_view(self._all[self._built])
            self._views.insert(0, view)
            self._layout.insertWidget(1, view)
            if (time.perf_counter() - started) * 1000 > BUILD_BUDGET_MS:
                break
        self._update_more_button()
        if not self._follow:  # keep what the user reads in place as views appear above it
            self._container.adjustSize()
            bar.setValue(bar.maximum() - from_bottom)
        self._schedule_build()
        self.finder.refresh()
        if self._revealing is not None and self._built <= self._revealing[0]:
            _, then = self._revealing
            self._revealing = None
            then()

    def _update_more_button(self) -> None:
        earlier = self._first
        self.more_button.setVisible(earlier > 0)
        self.more_button.setText(f"Show earlier messages ({earlier})")

    def _materialise(self) -> None:
        wanted = self._all[self._built :]
        old = {view.message.id: view for view in self._views}
        views: list[MessageView] = []
        for message in wanted:
            view = old.pop(message.id, None)
            if view is not None and view is not self._streaming:
                if view.key() != _key(message) or view.message.meta != message.meta:
                    view.set_message(message)
                else:
                    view.message = message
            elif view is None:
                view = self._make_view(message)
            views.append(view)
        for view in old.values():
            if view is not self._streaming:
                view.deleteLater()
        for i, view in enumerate(views):
            index = 1 + i  # after the "earlier" button
            if self._layout.indexOf(view) != index:
                self._layout.insertWidget(index, view)
        self._views = views
        self._update_more_button()

    def _make_view(self, message: Message) -> MessageView:
        view = MessageView(message, self.show_stats)
        view.action.connect(self.message_action)
        view.edited.connect(self.message_edited)
        view.leave_edit.connect(self._ask_keep)
        view.rendered.connect(self.finder.refresh)
        return view

    def _show_empty(self, empty: bool) -> None:
        if empty and self._hint:
            c = current_colors()
            self.empty.setText(
                f'<p style="font-size:15pt; font-weight:700; color:{c.text}">{EMPTY_TITLE}</p>'
                f'<p style="color:{c.muted}">{html.escape(self._hint)}</p>'
                f'<p style="color:{c.muted}; font-size:small">{EMPTY_TIPS}</p>'
            )
        self.empty.setVisible(empty and bool(self._hint))

    @Slot()
    def show_earlier(self) -> None:
        """Materialise the previous page, keeping what is on screen in place."""
        if self._first == 0:
            return
        self._first = max(0, self._first - PAGE)
        self._follow = False
        self._update_more_button()
        self._schedule_build()

    # ------------------------------------------------------------------ "Keep changes?"
    def _edits_left_behind(self) -> None:
        """The chat is being switched: an unsaved edit in it is asked about, not dropped."""
        for view in self._views:
            text = view.unsaved_edit()
            if text is not None and (self._keep_box is None or self._keep_for[0] != view):
                self._ask(view.message.id, text, None)
            elif text is not None:
                self._keep_for = (None, view.message.id, text)  # the view goes; the text stays

    def _ask_keep(self, view: QWidget) -> None:
        assert isinstance(view, MessageView)
        text = view.unsaved_edit()
        if text is not None and self._keep_box is None:
            self._ask(view.message.id, text, view)

    def _ask(self, message_id: int, text: str, view: MessageView | None) -> None:
        """Keep / Discard (/ Cancel while the message is still shown); never blocks."""
        box = keep_changes_box(self, can_continue=view is not None)
        self._keep_box = box
        self._keep_for = (view, message_id, text)
        box.finished.connect(lambda _result: self._answered(box))
        box.open()

    def _answered(self, box: QMessageBox) -> None:
        view, message_id, text = self._keep_for
        self._keep_box = None
        self._keep_for = (None, 0, "")
        role = box.buttonRole(box.clickedButton()) if box.clickedButton() else None
        box.deleteLater()
        if role == QMessageBox.ButtonRole.AcceptRole:
            if view is not None:
                view.keep_edit()
            else:
                self.message_edited.emit(message_id, text)
        elif role == QMessageBox.ButtonRole.DestructiveRole:
            if view is not None:
                view.discard_edit()
        elif view is not None:
            view.editor.setFocus()  # Cancel: go on editing
        else:  # Cancel, but the chat was switched meanwhile: nothing to go on editing
            self._ask(message_id, text, None)

    @property
    def keep_box(self) -> QMessageBox | None:
        """The "Keep changes?" question while it is open."""
        return self._keep_box

    # ------------------------------------------------------------------ find in chat
    @property
    def conversation_id(self) -> int | None:
        return self._conversation

    @property
    def messages(self) -> list[Message]:
        """Every message of the shown chat, built or not (oldest first)."""
        return list(self._all)

    def view_at(self, index: int) -> MessageView | None:
        """The view of ``messages[index]``, if it is built."""
        at = index - self._built
        return self._views[at] if 0 <= at < len(self._views) else None

    def reveal(self, index: int, then: Callable[[], None]) -> None:
        """Build views down to ``messages[index]`` (in the build budget), then call ``then``."""
        self._follow = False
        if index >= self._built:
            self._revealing = None
            then()
            return
        self._first = min(self._first, index)
        self._revealing = (index, then)
        self._schedule_build()

    def show_point(self, widget: QWidget, point: QPoint) -> None:
        """Scroll so ``point`` of ``widget`` (inside a message) is in view, with some room."""
        self._follow = False
        self._container.adjustSize()
        at = widget.mapTo(self._container, point)
        self.ensureVisible(at.x(), at.y(), 20, max(40, self.viewport().height() // 3))

    def view_for(self, message_id: int) -> MessageView | None:
        for view in self._views:
            if view.message.id == message_id:
                return view
        return None

    @property
    def views(self) -> list[MessageView]:
        return list(self._views)

    # ------------------------------------------------------------------ streaming
    @Slot(int)
    def begin_stream(self, message_id: int) -> None:
        view = self.view_for(message_id)
        if view is None:
            conversation = self._conversation or 0
            placeholder = Message(message_id, conversation, "assistant", "", "streaming", 0.0)
            self._all.append(placeholder)
            view = self._make_view(placeholder)
            self._views.append(view)
            self._layout.insertWidget(self._layout.count() - 1, view)
            self._show_empty(False)
        self._streaming_id = message_id
        self._streaming = view
        self.streamed_text = ""
        self._render.setInterval(RERENDER_MS)
        view.begin_stream()
        self._drain.start()
        self._render.start()

    @Slot(int, str, int)
    def append_chunk(self, message_id: int, text: str, _n_tokens: int) -> None:
        if message_id == self._streaming_id and text:
            self._pending.append(text)

    def end_stream(self) -> None:
        self._flush()
        self._drain.stop()
        self._render.stop()
        self._streaming_id = None
        view, self._streaming = self._streaming, None
        if view is not None:
            view.rerender(final=True)  # the last tail: the body shows the whole reply, rendered
            view.end_stream()
        self.finder.refresh()

    def _flush(self) -> None:
        if not self._pending or self._streaming is None:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self.streamed_text += text
        self._streaming.append(text)

    def _rerender(self) -> None:
        """Re-render the streaming reply, backing off when rendering gets expensive."""
        if self._streaming is not None:
            started = time.perf_counter()
            self._streaming.rerender()
            cost_ms = (time.perf_counter() - started) * 1000
            interval = max(RERENDER_MS, min(2_000, math.ceil(cost_ms / RENDER_SHARE)))
            self._render.setInterval(interval)

    # ------------------------------------------------------------------ scrolling
    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - 8
        if value == bar.minimum() and self._first > 0 and bar.maximum() > 0:
            self._earlier_timer.start()  # owned by self: never fires after it is deleted

    def _on_range_changed(self, _low: int, high: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(high)

    def scroll_to_end(self) -> None:
        self._follow = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # ------------------------------------------------------------------ text views
    def toPlainText(self) -> str:
        parts = [view.plain_text() for view in self._views]
        if self.empty.isVisible():
            parts.append(self.empty.text())
        return "\n\n".join(parts)

    def toHtml(self) -> str:
        return "".join(view.html() for view in self._views)

    def changeEvent(self, event: QEvent) -> None:
        """Re-colour the messages when the theme changes (not the one streaming)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for view in self._views:
                if view is not self._streaming:
                    view.set_message(view.message, force=True)
            self._show_empty(not self._all)


def _key(m: Message) -> tuple[object, ...]:
    return (m.id, m.content, m.status, m.alternatives, m.alternative_index, m.stop_reason)


def render_messages(
    messages: list[Message], empty_hint: str, colors: Colors, stats: bool = True
) -> str:
    """The conversation as one HTML string (plain text bodies): for exports and checks."""
    parts: list[str] = []
    for m in messages:
        if m.role == "system":
            continue
        body = html.escape(m.content.rstrip()).replace("\n", "<br>")
        footer = stats_html(m, colors, stats) if m.role == "assistant" else ""
        parts.append(
            f"<p>{header_html(m, colors)}</p><p style='color:{colors.text}'>{body}</p>{footer}"
        )
    if not parts and empty_hint:
        parts = [f'<p style="color:{colors.muted}">{html.escape(empty_hint)}</p>']
    return "".join(parts)
