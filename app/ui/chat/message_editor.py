"""Editing a message in place, and the "Keep changes?" question when the user leaves an edit.

Leaving means pressing Escape in the editor, moving focus elsewhere in the window (a click,
Tab), or switching chats; with unsaved changes the transcript then asks Keep / Discard
(and Cancel, to go on editing, while the message is still on screen) instead of silently
losing or silently saving the text. Save and Cancel buttons are explicit and never ask.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

KEEP_TITLE = "Keep changes?"


class _Editor(QPlainTextEdit):
    """Takes Escape before the page's Esc = Stop shortcut, as a focused editor should."""

    escape = Signal()

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        super().keyPressEvent(event)


class MessageEditor(QWidget):
    """The edit box: text, Cancel, Save. ``leaving`` fires when the user leaves unsaved."""

    saved = Signal(str)
    cancelled = Signal()
    leaving = Signal()

    def __init__(self, original: str, user: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = original
        self.editor = _Editor()
        self.editor.setAccessibleName("Edit message")
        self.save_button = QPushButton("Save && send" if user else "Save")
        self.save_button.setObjectName("primary")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Leave the message as it was")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor)
        layout.addLayout(row)
        self.save_button.clicked.connect(lambda: self.saved.emit(self.editor.toPlainText()))
        self.cancel_button.clicked.connect(self.cancelled)
        self.editor.escape.connect(self._on_escape)
        self._watching = False

    def begin(self, original: str) -> None:
        self.original = original
        self.editor.setPlainText(original)
        self.show()
        self.editor.setFocus()
        if not self._watching:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                app.focusChanged.connect(self._on_focus_changed)
                self._watching = True

    def finish(self) -> None:
        self.hide()
        if self._watching:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                app.focusChanged.disconnect(self._on_focus_changed)
            self._watching = False

    def unsaved(self) -> str | None:
        """The edited text while editing with changes, else None."""
        if self.isHidden():
            return None
        text = self.editor.toPlainText()
        return text if text != self.original else None

    def _on_escape(self) -> None:
        if self.unsaved() is None:
            self.cancelled.emit()
        else:
            self.leaving.emit()

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Focus moved from the edit box to another widget of this window: the user left."""
        if new is None or old is None or new.window() is not self.window():
            return  # another window (the question itself, another app): not leaving
        if self.isAncestorOf(old) and not self.isAncestorOf(new) and self.unsaved() is not None:
            self.leaving.emit()


def keep_changes_box(parent: QWidget, can_continue: bool) -> QMessageBox:
    """The question (not shown yet). Buttons: Keep, Discard, and Cancel if ``can_continue``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(KEEP_TITLE)
    box.setText(KEEP_TITLE)
    box.setInformativeText(
        "You edited a message and did not save it. Keep saves it as a new version (your own"
        " message is sent again); Discard leaves the message as it was."
    )
    keep = box.addButton("Keep", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    if can_continue:
        cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        cancel.setToolTip("Go on editing")
        box.setEscapeButton(cancel)
    box.setDefaultButton(keep)
    return box
