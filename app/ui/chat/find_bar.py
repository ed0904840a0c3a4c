"""Find in the open chat (Ctrl+F): a search field, "3 of 12", previous/next and close.

The bar only asks; the transcript finds, highlights and scrolls. Enter / F3 go to the next
match, Shift+Enter / Shift+F3 to the previous one, Escape closes the bar (it takes Escape
before the page's Esc = Stop shortcut, as a focused field should).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


class _Field(QLineEdit):
    """The search field: Escape and Shift+Enter are the bar's, not the window's."""

    escape = Signal()
    step = Signal(int)

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F3)
        ):
            event.accept()  # deliver it to keyPressEvent instead of a shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        back = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Escape:
            self.escape.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F3):
            self.step.emit(-1 if back else 1)
        else:
            super().keyPressEvent(event)


def _button(text: str, name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button


class FindBar(QWidget):
    """Asks the transcript to find ``text``; shows what it found."""

    find_requested = Signal(str)
    step_requested = Signal(int)  # +1 next, -1 previous
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.field = _Field()
        self.field.setPlaceholderText("Find in this chat")
        self.field.setAccessibleName("Find in chat")
        self.field.setClearButtonEnabled(True)
        self.count = QLabel("")
        self.count.setObjectName("muted")
        self.count.setAccessibleName("Matches")
        self.count.setMinimumWidth(80)
        self.previous_button = _button("↑", "Previous match", "Previous match (Shift+Enter)")
        self.next_button = _button("↓", "Next match", "Next match (Enter)")
        self.close_button = _button("✕", "Close find", "Close (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.close_button)
        self.field.textChanged.connect(self.find_requested)
        self.field.step.connect(self.step_requested)
        self.field.escape.connect(self.close_bar)
        self.previous_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.close_button.clicked.connect(self.close_bar)
        self.hide()

    def open_bar(self) -> None:
        """Show the bar with its text selected, and search again (the chat may have changed)."""
        self.show()
        self.field.setFocus()
        self.field.selectAll()
        self.find_requested.emit(self.field.text())

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def show_result(self, current: int, total: int) -> None:
        """``current`` counts from 1; 0 when nothing is selected."""
        if not self.field.text():
            self.count.setText("")
        elif total == 0:
            self.count.setText("No matches")
        else:
            self.count.setText(f"{current} of {total}")
        for button in (self.previous_button, self.next_button):
            button.setEnabled(total > 0)
