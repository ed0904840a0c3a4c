"""Hearth's app icon, drawn in code: a flame over a hearth stone on a warm, dark tile.

Why in code: the same drawing makes the window icon at run time (no image files to locate
inside a bundle) and the PNG/ICO/ICNS/SVG files in ``resources/`` that the packaging needs
(``packaging/make_icons.py``). Coordinates are in a 512-unit square scaled to the target size.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QLinearGradient, QPainter, QPainterPath, QPixmap

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
UNIT = 512.0


def _outer_flame() -> QPainterPath:
    path = QPainterPath(QPointF(256, 414))
    path.cubicTo(176, 414, 138, 358, 146, 294)
    path.cubicTo(154, 232, 206, 198, 222, 150)
    path.cubicTo(232, 122, 238, 104, 262, 80)
    path.cubicTo(272, 128, 300, 160, 326, 196)
    path.cubicTo(358, 240, 372, 270, 368, 308)
    path.cubicTo(362, 370, 322, 414, 256, 414)
    path.closeSubpath()
    return path


def _inner_flame() -> QPainterPath:
    path = QPainterPath(QPointF(256, 414))
    path.cubicTo(212, 414, 190, 386, 194, 350)
    path.cubicTo(198, 316, 226, 296, 240, 262)
    path.cubicTo(246, 248, 250, 236, 262, 220)
    path.cubicTo(268, 252, 284, 272, 298, 296)
    path.cubicTo(314, 322, 320, 342, 316, 362)
    path.cubicTo(310, 396, 290, 414, 256, 414)
    path.closeSubpath()
    return path


def paint_app_icon(painter: QPainter, size: float) -> None:
    """Draw the icon into the square (0, 0, size, size) of ``painter``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / UNIT, size / UNIT)
    # Small icons use the whole square so the tile does not shrink to a smudge.
    margin = 8.0 if size <= 32 else 28.0
    tile = QRectF(margin, margin, UNIT - 2 * margin, UNIT - 2 * margin)
    background = QLinearGradient(QPointF(0, margin), QPointF(0, UNIT - margin))
    background.setColorAt(0.0, QColor("#5a2a1a"))
    background.setColorAt(1.0, QColor("#1e110d"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(background))
    painter.drawRoundedRect(tile, 104, 104)

    glow = QLinearGradient(QPointF(0, 250), QPointF(0, 470))
    glow.setColorAt(0.0, QColor(255, 140, 40, 0))
    glow.setColorAt(1.0, QColor(255, 140, 40, 70))
    tile_path = QPainterPath()
    tile_path.addRoundedRect(tile, 104, 104)
    painter.save()
    painter.setClipPath(tile_path)
    painter.fillRect(QRectF(0, 250, UNIT, UNIT - 250), QBrush(glow))
    painter.restore()

    outer = QLinearGradient(QPointF(0, 414), QPointF(0, 80))
    outer.setColorAt(0.0, QColor("#ff4d17"))
    outer.setColorAt(0.55, QColor("#ff8a1f"))
    outer.setColorAt(1.0, QColor("#ffc23a"))
    painter.setBrush(QBrush(outer))
    painter.drawPath(_outer_flame())

    inner = QLinearGradient(QPointF(0, 414), QPointF(0, 220))
    inner.setColorAt(0.0, QColor("#ffd45c"))
    inner.setColorAt(1.0, QColor("#fff6d0"))
    painter.setBrush(QBrush(inner))
    painter.drawPath(_inner_flame())

    painter.setBrush(QColor("#c8643a"))
    painter.drawRoundedRect(QRectF(136, 420, 240, 34), 17, 17)
    painter.restore()


def icon_pixmap(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint_app_icon(painter, size)
    painter.end()
    return pixmap


def app_icon() -> QIcon:
    """The window and taskbar icon at every standard size (needs a QGuiApplication)."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(icon_pixmap(size))
    return icon
