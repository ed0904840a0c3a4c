"""The main window: a sidebar of sections and a stack of pages, with LM Studio's shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QByteArray, QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QIcon,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
    QShortcut,
)
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

SECTIONS = ("Chat", "Discover", "My Models", "Hardware", "Server", "Usage", "Settings")
SHORTCUTS = {
    "Chat": "Ctrl+1",
    "Discover": "Ctrl+2",
    "My Models": "Ctrl+3",
    "Hardware": "Ctrl+Shift+H",
    "Server": "Ctrl+4",
    "Usage": "Ctrl+Shift+U",
    "Settings": "Ctrl+,",
}
# Glyphs every bundled font (DejaVu included) can draw; emoji fonts are not a given.
GLYPHS = {
    "Chat": "✎",
    "Discover": "⚲",
    "My Models": "▤",
    "Hardware": "▥",
    "Server": "⇄",
    "Usage": "∑",
    "Settings": "⚙",
}
SIDEBAR_WIDTH = 184
ICON_SIZE = 18
_NATIVE = QKeySequence.SequenceFormat.NativeText


def glyph_icon(glyph: str, colour: QColor, size: int = ICON_SIZE) -> QIcon:
    """A text glyph drawn centred in a square: icons without shipping image files."""
    ratio = 2.0  # sharp on high-DPI screens
    pixmap = QPixmap(int(size * ratio), int(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    font = QFont(painter.font())
    font.setPixelSize(int(size * 0.85))
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


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
            item = QListWidgetItem(name)
            item.setToolTip(f"{name} ({QKeySequence(SHORTCUTS[name]).toString(_NATIVE)})")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
            item.setSizeHint(QSize(SIDEBAR_WIDTH - 20, 38))
            self.sidebar.addItem(item)
            page = pages[name]
            page.setAccessibleName(name)
            self.stack.addWidget(page)
        self.sidebar.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self._paint_icons()
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
        self._nav_layout = nav_layout

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

    def add_sidebar_footer(self, widget: QWidget) -> None:
        """A widget under the sections (e.g. the "Local only" indicator)."""
        self._nav_layout.addWidget(widget)

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

    def _paint_icons(self) -> None:
        """Glyph icons of one size, so labels line up; repainted in the theme's text colour."""
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        for row, name in enumerate(SECTIONS):
            self.sidebar.item(row).setIcon(glyph_icon(GLYPHS[name], colour))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_icons()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)


__all__ = ["GLYPHS", "SECTIONS", "SHORTCUTS", "MainWindow"]
