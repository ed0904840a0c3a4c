"""The main window: a sidebar of sections and a stack of pages, with LM Studio's shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

SECTIONS = ("Chat", "Discover", "My Models", "Hardware", "Server", "Settings")
SHORTCUTS = {
    "Chat": "Ctrl+1",
    "Discover": "Ctrl+2",
    "My Models": "Ctrl+3",
    "Hardware": "Ctrl+Shift+H",
    "Server": "Ctrl+4",
    "Settings": "Ctrl+,",
}
# Glyphs every bundled font (DejaVu included) can draw; emoji fonts are not a given.
GLYPHS = {
    "Chat": "✎",
    "Discover": "⌕",
    "My Models": "▤",
    "Hardware": "▥",
    "Server": "⇄",
    "Settings": "⚙",
}
SIDEBAR_WIDTH = 184
_NATIVE = QKeySequence.SequenceFormat.NativeText


class MainWindow(QMainWindow):
    """Knows nothing about what the pages do; ``add_shortcut`` lets the app add actions."""

    closing = Signal()
    section_changed = Signal(str)

    def __init__(self, pages: dict[str, QWidget]) -> None:
        super().__init__()
        self.setWindowTitle("Hearth")
        self.resize(1280, 800)
        self.setMinimumSize(QSize(720, 480))
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setAccessibleName("Sections")
        self.sidebar.setAccessibleDescription("The app's sections; Ctrl+1 to Ctrl+4 switch")
        self.sidebar.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.pages = pages
        for name in SECTIONS:
            item = QListWidgetItem(f"{GLYPHS[name]}   {name}")
            item.setToolTip(f"{name} ({QKeySequence(SHORTCUTS[name]).toString(_NATIVE)})")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
            item.setSizeHint(QSize(SIDEBAR_WIDTH - 20, 38))
            self.sidebar.addItem(item)
            page = pages[name]
            page.setAccessibleName(name)
            self.stack.addWidget(page)
        self.sidebar.currentRowChanged.connect(self._on_row)

        title = QLabel("◆ Hearth")
        title.setObjectName("appTitle")
        title.setAccessibleName("Hearth")
        nav = QWidget()
        nav.setObjectName("nav")
        nav.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        nav.setFixedWidth(SIDEBAR_WIDTH)
        nav_layout = QVBoxLayout(nav)
        nav_layout.setContentsMargins(0, 0, 0, 0)
        nav_layout.setSpacing(0)
        nav_layout.addWidget(title)
        nav_layout.addWidget(self.sidebar, 1)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.shortcuts: dict[str, QShortcut] = {}
        for name, keys in SHORTCUTS.items():
            self.add_shortcut(keys, partial(self.show_section, name))
        self.sidebar.setCurrentRow(0)

    def add_shortcut(self, keys: str, action: Callable[[], None]) -> QShortcut:
        """A window-wide shortcut (works whichever widget has focus)."""
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(action)
        self.shortcuts[keys] = shortcut
        return shortcut

    def show_section(self, name: str) -> None:
        self.sidebar.setCurrentRow(SECTIONS.index(name))

    def current_section(self) -> str:
        return SECTIONS[self.sidebar.currentRow()]

    def _on_row(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if 0 <= row < len(SECTIONS):
            self.section_changed.emit(SECTIONS[row])

    def restore_geometry_b64(self, encoded: str | None, maximized: bool = False) -> bool:
        """Put the window back where it was; False (default size) if the blob is unusable."""
        restored = False
        if encoded:
            restored = bool(self.restoreGeometry(QByteArray.fromBase64(encoded.encode())))
        if maximized:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        return restored

    def geometry_b64(self) -> str:
        return bytes(self.saveGeometry().toBase64().data()).decode()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)


__all__ = ["GLYPHS", "SECTIONS", "SHORTCUTS", "MainWindow"]
