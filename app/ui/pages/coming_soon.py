"""An honest placeholder for sections that are not built yet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class ComingSoonPage(QWidget):
    """Says what the section will do and that it is not there yet: no fake controls."""

    def __init__(
        self, title: str, what: str, glyph: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        icon = QLabel(glyph)
        icon.setObjectName("emptyGlyph")
        icon.setStyleSheet("font-size: 30pt;")
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        self.body = QLabel(what)
        self.body.setObjectName("pageSubtitle")
        self.body.setWordWrap(True)
        self.badge = QLabel("Coming soon: this section is not built yet.")
        self.badge.setObjectName("badge")
        for label in (icon, heading, self.body, self.badge):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        card = QFrame()
        card.setObjectName("card")
        card.setFixedWidth(520)  # a fixed width lets the wrapped text take its full height
        inner = QVBoxLayout(card)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(10)
        inner.addWidget(icon)
        inner.addWidget(heading)
        inner.addWidget(self.body)
        inner.addSpacing(6)
        inner.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignHCenter)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.setAccessibleDescription(f"{title}: coming soon. {what}")
