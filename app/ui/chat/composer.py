"""The message box: Enter sends, Shift+Enter adds a line, Stop while a reply is written.

Also the files attached to the next message (read on the bridge thread) and the context
meter: tokens the chat uses of the model's context.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.backend.attachments import Extracted

ATTACH_FILTER = (
    "Text, code, CSV, JSON and PDF (*.txt *.md *.markdown *.py *.js *.ts *.tsx *.jsx *.c *.h"
    " *.cpp *.hpp *.cs *.java *.kt *.go *.rs *.rb *.php *.sh *.sql *.html *.css *.xml *.yaml"
    " *.yml *.toml *.ini *.cfg *.log *.csv *.tsv *.json *.pdf);;All files (*)"
)


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
    attach_requested = Signal(list)  # paths to read on the bridge thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachments: list[Extracted] = []
        self.attach_button = QPushButton("Attach…")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip(
            "Attach text files, code, CSV, JSON or PDF (30 MB each); or drop them on the chat"
        )
        self.attached = QLabel("")
        self.attached.setObjectName("muted")
        self.attached.setWordWrap(True)
        self.clear_attachments_button = QPushButton("✕")
        self.clear_attachments_button.setAccessibleName("Remove attachments")
        self.clear_attachments_button.setToolTip("Remove the attached files")
        self.meter = QProgressBar()
        self.meter.setAccessibleName("Context used")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(90)
        self.meter.setFixedHeight(6)
        self.meter_label = QLabel("")
        self.meter_label.setObjectName("muted")
        self.meter_label.setAccessibleName("Context meter")
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
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.input, 1)
        row.addLayout(buttons)
        info = QHBoxLayout()
        info.setSpacing(6)
        info.addWidget(self.attach_button)
        info.addWidget(self.attached, 1)
        info.addWidget(self.clear_attachments_button)
        info.addWidget(self.meter_label)
        info.addWidget(self.meter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addLayout(info)
        self.attach_button.clicked.connect(self._choose_files)
        self.clear_attachments_button.clicked.connect(self.clear_attachments)
        self.clear_attachments()
        self.set_context(0, 0)

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

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files", "", ATTACH_FILTER)
        if paths:
            self.attach_requested.emit(paths)

    def add_attachments(self, files: list[Extracted]) -> None:
        self.attachments.extend(files)
        self._show_attached()

    def _show_attached(self) -> None:
        names = ", ".join(f"• {f.name}" for f in self.attachments)
        self.attached.setText(names)
        self.clear_attachments_button.setVisible(bool(self.attachments))

    def show_drop_hint(self, hovering: bool) -> None:
        """While files are dragged over the chat, say what dropping them does."""
        if hovering:
            self.attached.setText("Drop the files to attach them to your next message")
        else:
            self._show_attached()

    def clear_attachments(self) -> None:
        self.attachments = []
        self.attached.setText("")
        self.clear_attachments_button.hide()

    def take_attachments(self) -> list[Extracted]:
        files = self.attachments
        self.clear_attachments()
        return files

    def set_context(self, used: int, total: int) -> None:
        """The context meter: tokens the chat takes of the loaded model's context."""
        if total <= 0:
            self.meter.hide()
            self.meter_label.setText("")
            return
        percent = min(100, round(100 * used / total))
        self.meter.show()
        self.meter.setValue(percent)
        self.meter_label.setText(f"Context {used:,} / {total:,} tokens ({percent}%)")
        self.meter.setToolTip("Context is nearly full" if percent >= 90 else "")

    def _submit(self) -> None:
        if self.stop_button.isVisible():
            return
        text = self.input.toPlainText()
        if not text.strip() and not self.attachments:
            return
        self.input.clear()
        self.send_requested.emit(text)
