"""The main window: a sidebar of sections and a stack of pages."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QMainWindow, QStackedWidget, QWidget

SECTIONS = ("Chat", "Discover", "My Models", "Hardware", "Server", "Settings")
SHORTCUTS = {
    "Chat": "Ctrl+1",
    "Discover": "Ctrl+2",
    "My Models": "Ctrl+3",
    "Hardware": "Ctrl+Shift+H",
    "Server": "Ctrl+4",
    "Settings": "Ctrl+,",
}


class MainWindow(QMainWindow):
    closing = Signal()

    def __init__(self, pages: dict[str, QWidget]) -> None:
        super().__init__()
        self.setWindowTitle("Hearth")
        self.resize(1200, 760)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setAccessibleName("Sections")
        self.sidebar.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.pages = pages
        for name in SECTIONS:
            self.sidebar.addItem(name)
            self.stack.addWidget(pages[name])
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        for name, keys in SHORTCUTS.items():
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(lambda n=name: self.show_section(n))

    def show_section(self, name: str) -> None:
        self.sidebar.setCurrentRow(SECTIONS.index(name))

    def current_section(self) -> str:
        return SECTIONS[self.sidebar.currentRow()]

    def restore_geometry_b64(self, encoded: str | None) -> None:
        if encoded:
            self.restoreGeometry(QByteArray.fromBase64(encoded.encode()))

    def geometry_b64(self) -> str:
        return bytes(self.saveGeometry().toBase64().data()).decode()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.closing.emit()
        super().closeEvent(event)


__all__ = ["SECTIONS", "MainWindow", "Qt"]
