"""Files dropped on the conversation or the message box become attachments.

An event filter rather than subclasses, so the transcript's viewport and the message box's
viewport take file drops the same way; a text drop on the message box still inserts text.
Dropped files go through the same reading as the Attach button (on the bridge thread), so a
binary or huge file gets the same message. Links that are not local files are refused here.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QWidget


def dropped_files(mime: QMimeData) -> tuple[list[str], list[str]]:
    """(local file paths, names of dropped links that are not local files)."""
    paths: list[str] = []
    refused: list[str] = []
    for url in mime.urls():
        if url.isLocalFile() and url.toLocalFile():
            paths.append(url.toLocalFile())
        else:
            refused.append(url.toDisplayString())
    return paths, refused


class FileDrop(QObject):
    """Watches widgets for dragged files; ``dropped(paths)``, ``refused(message)``."""

    dropped = Signal(list)
    refused = Signal(str)
    hovering = Signal(bool)

    def watch(self, widget: QWidget) -> None:
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(event, QDropEvent):
            if not event.mimeData().hasUrls():
                return False  # text: the widget's own handling
            event.acceptProposedAction()
            if kind == QEvent.Type.DragEnter:
                self.hovering.emit(True)
            return True
        if kind == QEvent.Type.DragLeave:
            self.hovering.emit(False)
            return False
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            if not event.mimeData().hasUrls():
                return False
            event.acceptProposedAction()
            self.hovering.emit(False)
            paths, refused = dropped_files(event.mimeData())
            if refused:
                names = ", ".join(refused[:3])
                self.refused.emit(f"Only files on this computer can be attached (not {names}).")
            if paths:
                self.dropped.emit(paths)
            return True
        return False
