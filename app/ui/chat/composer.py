"""The message box: Enter sends, Shift+Enter adds a line, Stop while a reply is written."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class _Input(QPlainTextEdit):
    """Enter sends (or Ctrl+Enter, when the user turned "send with Enter" off)."""

    submitted = Signal()
    send_with_enter = True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        mods = event.modifiers()
        if enter and self.send_with_enter and not mods & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        if enter and not self.send_with_enter and mods & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    send_requested = Signal(str)
    stop_requested = Signal()
    regenerate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = _Input()
        self.input.setObjectName("composerInput")
        self.input.setAccessibleName("Message")
        self.input.setMinimumHeight(64)
        self.input.setMaximumHeight(120)
        self.send_button = QPushButton("Send  ➤")
        self.send_button.setObjectName("primary")
        self.send_button.setAccessibleName("Send")
        self.send_button.setDefault(True)
        self.stop_button = QPushButton("■  Stop")
        self.stop_button.setObjectName("danger")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop writing this reply (keeps what was written)")
        self.regenerate_button = QPushButton("↻  Regenerate")
        self.regenerate_button.setAccessibleName("Regenerate")
        self.regenerate_button.setToolTip("Write the last reply again")
        for button in (self.send_button, self.stop_button, self.regenerate_button):
            button.setMinimumWidth(120)
        self.set_send_with_enter(True)

        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.regenerate_button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.input, 1)
        layout.addLayout(buttons)

        self.input.submitted.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested)
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.set_generating(False)

    def set_send_with_enter(self, enabled: bool) -> None:
        """Follow the chat.send_with_enter setting, and say so in the placeholder."""
        self.input.send_with_enter = enabled
        if enabled:
            hint = "Type a message — Enter to send, Shift+Enter for a new line"
        else:
            hint = "Type a message — Ctrl+Enter to send, Enter for a new line"
        self.input.setPlaceholderText(hint)

    def set_generating(self, generating: bool) -> None:
        self.send_button.setVisible(not generating)
        self.stop_button.setVisible(generating)
        self.regenerate_button.setEnabled(not generating)

    def _submit(self) -> None:
        if self.stop_button.isVisible():
            return
        text = self.input.toPlainText()
        if not text.strip():
            return
        self.input.clear()
        self.send_requested.emit(text)
