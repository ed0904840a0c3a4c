"""Light and dark looks: one palette plus a modest stylesheet, applied app-wide.

The palette does most of the work (every widget reads it), so the QSS only adds what a
palette cannot say: rounded inputs, the sidebar's navigation look, pills and the notice
banner. ``theme = "system"`` follows the OS colour scheme, live, where Qt can see it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

Mode = Literal["system", "light", "dark"]
Resolved = Literal["light", "dark"]


@dataclass(frozen=True)
class Colors:
    """The handful of colours everything is drawn with."""

    name: Resolved
    window: str
    surface: str  # inputs, transcript, lists
    surface_alt: str  # user message bubble, hovered rows
    sidebar: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    selection: str  # selected rows (a soft tint of the accent)
    user: str
    assistant: str
    warning_bg: str
    warning_text: str
    danger: str
    success: str
    info: str


LIGHT = Colors(
    name="light",
    window="#f6f7f9",
    surface="#ffffff",
    surface_alt="#eef2fb",
    sidebar="#eceef2",
    border="#d5d9e0",
    text="#1d2330",
    muted="#6b7280",
    accent="#3b6cf6",
    accent_text="#ffffff",
    selection="#dbe5fe",
    user="#3b6cf6",
    assistant="#0f8a6c",
    warning_bg="#fff4d6",
    warning_text="#7a4d00",
    danger="#c62828",
    success="#1b873f",
    info="#3b6cf6",
)

DARK = Colors(
    name="dark",
    window="#1b1d22",
    surface="#23262d",
    surface_alt="#2b3140",
    sidebar="#15171b",
    border="#373b45",
    text="#e6e8ec",
    muted="#9aa1ad",
    accent="#6d93ff",
    accent_text="#0d1117",
    selection="#2f3f66",
    user="#8aa8ff",
    assistant="#4fd1a5",
    warning_bg="#4a3a12",
    warning_text="#ffd98a",
    danger="#ff6b6b",
    success="#4fd17a",
    info="#8aa8ff",
)

_current: Colors = LIGHT


def current_colors() -> Colors:
    """The colours last applied (for widgets that write their own HTML)."""
    return _current


def system_prefers_dark() -> bool:
    """Whether the OS asks for dark; Unknown (e.g. offscreen) counts as light."""
    hints = QGuiApplication.styleHints()
    return bool(hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark)


def resolve(mode: str) -> Resolved:
    if mode == "dark":
        return "dark"
    if mode == "light":
        return "light"
    return "dark" if system_prefers_dark() else "light"


def colors_for(mode: str) -> Colors:
    return DARK if resolve(mode) == "dark" else LIGHT


def build_palette(c: Colors) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    pairs = {
        role.Window: c.window,
        role.WindowText: c.text,
        role.Base: c.surface,
        role.AlternateBase: c.surface_alt,
        role.ToolTipBase: c.surface,
        role.ToolTipText: c.text,
        role.PlaceholderText: c.muted,
        role.Text: c.text,
        role.Button: c.surface,
        role.ButtonText: c.text,
        role.BrightText: c.danger,
        role.Highlight: c.accent,
        role.HighlightedText: c.accent_text,
        role.Link: c.accent,
        role.LinkVisited: c.accent,
        role.Light: c.surface,
        role.Midlight: c.surface_alt,
        role.Mid: c.border,
        role.Dark: c.border,
        role.Shadow: "#000000",
    }
    for r, colour in pairs.items():
        pal.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(c.muted))
    return pal


def build_stylesheet(c: Colors, font_size: int = 11) -> str:
    """The QSS on top of the palette; ``font_size`` sizes the chat transcript."""
    up, down = arrow_files(c.muted)
    return f"""
QWidget {{ font-size: 10pt; }}
QToolTip {{ color: {c.text}; background: {c.surface}; border: 1px solid {c.border};
    padding: 4px 6px; }}

/* navigation */
QWidget#nav {{ background: {c.sidebar}; border-right: 1px solid {c.border}; }}
QListWidget#sidebar {{ background: transparent; border: none; padding: 4px 8px; outline: 0;
    font-size: 10.5pt; }}
QListWidget#sidebar::item {{ padding: 9px 10px; margin: 1px 0; border-radius: 8px;
    color: {c.text}; }}
QListWidget#sidebar::item:hover {{ background: {c.surface_alt}; }}
QListWidget#sidebar::item:selected {{ background: {c.selection}; color: {c.text};
    font-weight: 600; }}
QLabel#appTitle {{ font-size: 13pt; font-weight: 700; padding: 16px 18px 10px 18px;
    background: transparent; }}

/* titles */
QLabel#pageTitle {{ font-size: 17pt; font-weight: 700; }}
QLabel#pageSubtitle, QLabel#help, QLabel#muted {{ color: {c.muted}; }}
QLabel#sectionTitle {{ font-size: 10.5pt; font-weight: 700; padding-top: 8px; }}
QLabel#emptyTitle {{ font-size: 14pt; font-weight: 700; }}
QLabel#badge {{ color: {c.muted}; border: 1px solid {c.border}; border-radius: 9px;
    padding: 2px 10px; }}

/* inputs */
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 7px;
    padding: 4px 8px; selection-background-color: {c.accent};
    selection-color: {c.accent_text}; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QSpinBox:focus,
QDoubleSpinBox:focus, QComboBox:focus {{ border: 1px solid {c.accent}; }}
QComboBox {{ min-height: 22px; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 22px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-origin: border;
    subcontrol-position: top right; width: 20px; border: none;
    border-left: 1px solid {c.border}; border-top-right-radius: 7px; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-origin: border;
    subcontrol-position: bottom right; width: 20px; border: none;
    border-left: 1px solid {c.border}; border-bottom-right-radius: 7px; }}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover,
QSpinBox::down-button:hover, QDoubleSpinBox::down-button:hover {{
    background: {c.surface_alt}; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({up}); width: 9px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow, QComboBox::down-arrow {{
    image: url({down}); width: 9px; }}
QComboBox::drop-down {{ border: none; width: 22px; }}
QComboBox QAbstractItemView {{ background: {c.surface}; border: 1px solid {c.border};
    selection-background-color: {c.selection}; selection-color: {c.text}; }}
QTextBrowser#transcript {{ border: 1px solid {c.border}; border-radius: 10px;
    padding: 6px 10px; font-size: {font_size}pt; }}
QPlainTextEdit#composerInput {{ border-radius: 10px; padding: 8px 10px;
    font-size: {font_size}pt; }}

/* buttons */
QPushButton {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 7px;
    padding: 5px 14px; min-height: 20px; }}
QPushButton:hover {{ background: {c.surface_alt}; }}
QPushButton:pressed {{ background: {c.selection}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: {c.accent_text}; border: 1px solid
    {c.accent}; font-weight: 600; }}
QPushButton#primary:hover {{ background: {c.user}; }}
QPushButton#primary:disabled {{ background: {c.border}; border-color: {c.border};
    color: {c.muted}; }}
QPushButton#danger {{ color: {c.danger}; }}

/* lists */
QListWidget {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px;
    outline: 0; }}
QListWidget::item {{ padding: 6px 8px; border-radius: 6px; }}
QListWidget::item:selected {{ background: {c.selection}; color: {c.text}; }}
QListWidget::item:hover:!selected {{ background: {c.surface_alt}; }}
QListWidget#chatList {{ background: transparent; border: none; }}

/* pills and banners */
QLabel#notice {{ background: {c.warning_bg}; color: {c.warning_text};
    border: 1px solid {c.warning_text}; border-radius: 8px; padding: 8px 12px; }}
QLabel#engineState, QLabel#promptMode {{ border-radius: 10px; padding: 3px 10px;
    border: 1px solid {c.border}; color: {c.muted}; }}
QLabel#engineState[state="ready"] {{ color: {c.success}; border-color: {c.success}; }}
QLabel#engineState[state="loading"] {{ color: {c.info}; border-color: {c.info}; }}
QLabel#engineState[state="error"] {{ color: {c.danger}; border-color: {c.danger}; }}
QLabel#promptMode[mode="completion"] {{ color: {c.warning_text}; background: {c.warning_bg};
    border-color: {c.warning_text}; }}
QProgressBar {{ border: 1px solid {c.border}; border-radius: 6px; background: {c.surface};
    text-align: center; max-height: 14px; font-size: 8pt; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 5px; }}

/* panels */
QWidget#paramsPanel, QWidget#chatsPanel {{ background: {c.window}; }}
QFrame#card {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 10px; }}
QScrollArea {{ border: none; background: transparent; }}
QSplitter::handle {{ background: {c.window}; }}
QCheckBox {{ spacing: 8px; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 4px; min-height: 30px; }}
QScrollBar::handle:vertical:hover {{ background: {c.muted}; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle:horizontal {{ background: {c.border}; border-radius: 4px; min-width: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
"""


_ARROW_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="6" viewBox="0 0 9 6">'
    '<path d="{d}" fill="{fill}"/></svg>'
)


def arrow_files(colour: str) -> tuple[str, str]:
    """Small up/down arrow SVGs in ``colour`` (QSS can only draw arrows from images)."""
    user = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"hearth-theme-{user}"
    folder.mkdir(parents=True, exist_ok=True)
    out: list[str] = []
    for name, d in (("up", "M0 6 L4.5 0 L9 6 Z"), ("down", "M0 0 L4.5 6 L9 0 Z")):
        path = folder / f"arrow-{name}-{colour.lstrip('#')}.svg"
        if not path.exists():
            path.write_text(_ARROW_SVG.format(d=d, fill=colour), encoding="utf-8")
        out.append(path.as_posix())
    return out[0], out[1]


class ThemeManager(QObject):
    """Applies a mode to the application and re-applies it when the OS scheme flips."""

    changed = Signal(str)  # the resolved scheme: "light" or "dark"

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self.mode: str = "system"
        self.font_size = 11
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_system_scheme)

    def apply(self, mode: str, font_size: int | None = None) -> Colors:
        global _current
        self.mode = mode if mode in ("system", "light", "dark") else "system"
        if font_size is not None:
            self.font_size = font_size
        colors = colors_for(self.mode)
        _current = colors
        if not self._app.property("hearthFusion"):
            # Fusion draws consistently from the palette on every platform. (Once: with a
            # stylesheet set, style().name() no longer says "fusion".)
            self._app.setStyle("Fusion")
            self._app.setProperty("hearthFusion", True)
        # Re-applying identical looks would re-polish every widget for nothing.
        palette = build_palette(colors)
        if palette != self._app.palette():
            self._app.setPalette(palette)
        sheet = build_stylesheet(colors, self.font_size)
        if sheet != self._app.styleSheet():
            self._app.setStyleSheet(sheet)
        self.changed.emit(colors.name)
        return colors

    @property
    def resolved(self) -> Resolved:
        return _current.name

    def _on_system_scheme(self, _scheme: Qt.ColorScheme) -> None:
        if self.mode == "system":
            self.apply("system")


def repolish(widget: QObject) -> None:
    """Re-read the stylesheet after a dynamic property changed (e.g. a pill's state)."""
    from PySide6.QtWidgets import QWidget

    if isinstance(widget, QWidget):
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)
