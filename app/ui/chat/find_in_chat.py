"""Find in the open chat: count every match, highlight the shown ones, go to one.

Matches are counted in every message of the chat, including the ones the transcript has not
built views for yet (in their text); in a built view they are counted and highlighted in the
rendered text, so "3 of 12" always agrees with what is highlighted. Going to a match in a
message further up asks the transcript to build views down to it (in its time budget), then
scrolls there. The first match shown is the one nearest the end of the chat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit

from app.backend.reasoning import split_reasoning
from app.ui.theme import current_colors

if TYPE_CHECKING:
    from app.ui.chat.message_view import MessageView
    from app.ui.chat.transcript import Transcript

Match = tuple[int, int]  # (index of the message in the chat, occurrence within it)


def _occurrences(document: QTextDocument, needle: str) -> list[QTextCursor]:
    found: list[QTextCursor] = []
    cursor = document.find(needle, 0)
    while not cursor.isNull():
        found.append(cursor)
        cursor = document.find(needle, cursor)
    return found


def _message_text(view_text: str | None, content: str, role: str) -> str:
    if view_text is not None:
        return view_text
    return split_reasoning(content).answer if role == "assistant" else content


class ChatFinder(QObject):
    #: (current match counted from 1, or 0; total matches)
    result = Signal(int, int)

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(transcript)
        self.transcript = transcript
        self.text = ""
        self.matches: list[Match] = []
        self.current = -1
        self._conversation: int | None = None
        self._highlighted: set[MessageView] = set()
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(0)
        self._scroll_timer.timeout.connect(self._scroll_now)

    @property
    def active(self) -> bool:
        return bool(self.text)

    def find(self, text: str) -> None:
        """Search for ``text`` (case-insensitive) and go to the match nearest the end."""
        self.text = text
        self._count()
        self.current = len(self.matches) - 1
        self._highlight()
        self._go()

    def step(self, direction: int) -> None:
        """Next (+1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        self.current = (self.current + direction) % len(self.matches)
        self._highlight()
        self._go()

    def clear(self) -> None:
        self.text = ""
        self.matches = []
        self.current = -1
        self._highlight()
        self.result.emit(0, 0)

    def refresh(self) -> None:
        """The chat changed (opened, new views, a reply ended): count and highlight again."""
        if not self.active:
            return
        switched = self._conversation != self.transcript.conversation_id
        keep = self.matches[self.current] if 0 <= self.current < len(self.matches) else None
        self._count()
        if switched or keep not in self.matches:
            self.current = len(self.matches) - 1
        else:
            self.current = self.matches.index(keep)
        self._highlight()
        self.result.emit(self.current + 1, len(self.matches))

    # ------------------------------------------------------------------ internals
    def _count(self) -> None:
        self._conversation = self.transcript.conversation_id
        needle = self.text.casefold()
        self.matches = []
        if not needle:
            return
        for index, message in enumerate(self.transcript.messages):
            view = self.transcript.view_at(index)
            if view is not None:
                n = sum(len(_occurrences(b.document(), self.text)) for b in view.bodies())
            else:
                text = _message_text(None, message.content, message.role)
                n = text.casefold().count(needle)
            self.matches.extend((index, k) for k in range(n))

    def _highlight(self) -> None:
        """All matches of the shown views in a soft colour, the current one in the accent."""
        c = current_colors()
        soft = QTextEdit.ExtraSelection()
        soft.format.setBackground(QColor(c.warning_bg))
        soft.format.setForeground(QColor(c.warning_text))
        strong = QTextEdit.ExtraSelection()
        strong.format.setBackground(QColor(c.accent))
        strong.format.setForeground(QColor(c.accent_text))
        current = self.matches[self.current] if 0 <= self.current < len(self.matches) else None
        shown: set[MessageView] = set()
        for index in range(len(self.transcript.messages)):
            view = self.transcript.view_at(index)
            if view is None:
                continue
            shown.add(view)
            occurrence = 0
            for body in view.bodies():
                selections = []
                for cursor in _occurrences(body.document(), self.text) if self.text else []:
                    selection = QTextEdit.ExtraSelection()
                    selection.cursor = cursor
                    mine = current == (index, occurrence)
                    selection.format = (strong if mine else soft).format
                    selections.append(selection)
                    occurrence += 1
                body.setExtraSelections(selections)
        for view in self._highlighted - shown:
            try:
                for body in view.bodies():
                    body.setExtraSelections([])
            except RuntimeError:  # the view was deleted with its chat
                pass
        self._highlighted = shown if self.text else set()

    def _go(self) -> None:
        self.result.emit(self.current + 1, len(self.matches))
        if not 0 <= self.current < len(self.matches):
            return
        index, _ = self.matches[self.current]
        self.transcript.reveal(index, self._scroll_to_current)

    def _scroll_to_current(self) -> None:
        """Scroll so the current match is in view (after the layout has settled)."""
        self._scroll_timer.start()

    def _scroll_now(self) -> None:
        if not 0 <= self.current < len(self.matches):
            return
        index, occurrence = self.matches[self.current]
        view = self.transcript.view_at(index)
        if view is None:
            return
        for body in view.bodies():
            found = _occurrences(body.document(), self.text)
            if occurrence < len(found):
                rect = body.cursorRect(found[occurrence])
                self.transcript.show_point(body.viewport(), rect.center())
                return
            occurrence -= len(found)
