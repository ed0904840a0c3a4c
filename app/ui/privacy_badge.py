"""The "Local only" indicator at the foot of the sidebar: visible whenever the switch is on."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from app.ui.theme import current_colors


class LocalOnlyBadge(QLabel):
    """Clicking it opens Settings, where the switch lives."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("● Local only", parent)
        self.setObjectName("localOnlyBadge")
        self.setAccessibleName("Local only is on")
        self.setToolTip(
            "Nothing leaves this computer: Hub search, downloads and remote engines are off. "
            "Click to change it in Settings."
        )
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._restyle()
        self.hide()

    def set_on(self, on: bool) -> None:
        self.setVisible(on)

    def _restyle(self) -> None:
        c = current_colors()
        sheet = (
            f"QLabel#localOnlyBadge {{ color: {c.success}; border: 1px solid {c.success};"
            f" border-radius: 10px; padding: 4px 10px; margin: 8px 14px 14px 14px;"
            f" font-weight: 600; background: transparent; }}"
        )
        if sheet != self.styleSheet():  # setting it changes the palette: do it only once
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)
