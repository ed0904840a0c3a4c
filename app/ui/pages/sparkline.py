"""A tiny line graph of the last minute of one metric, painted with QPainter (no QtCharts)."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class Sparkline(QWidget):
    """Keeps ``capacity`` samples; the y axis runs from 0 to ``maximum`` (or the data's max).

    Colours come from the palette (or an explicit accent) so it reads in light and dark themes.
    """

    def __init__(
        self,
        name: str,
        *,
        maximum: float | None = 100.0,
        capacity: int = 60,
        color: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._values: deque[float] = deque(maxlen=capacity)
        self._capacity = capacity
        self._maximum = maximum
        self._color = QColor(color) if color else None
        self.setAccessibleName(name)
        self.setAccessibleDescription(f"{name}: no data yet")
        self.setMinimumSize(140, 44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(220, 48)

    def values(self) -> list[float]:
        return list(self._values)

    def set_maximum(self, maximum: float | None) -> None:
        self._maximum = maximum
        self.update()

    def add(self, value: float, text: str | None = None) -> None:
        """Append a sample; ``text`` (e.g. "42 %") becomes the accessible description."""
        self._values.append(max(0.0, float(value)))
        self.setAccessibleDescription(f"{self.accessibleName()}: {text or f'{value:.1f}'}")
        self.update()

    def clear(self) -> None:
        self._values.clear()
        self.update()

    def _accent(self) -> QColor:
        return self._color or self.palette().color(QPalette.ColorRole.Highlight)

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        grid = QColor(self.palette().color(QPalette.ColorRole.Text))
        grid.setAlpha(28)
        p.setPen(QPen(grid, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(rect, 6, 6)
        for frac in (0.5,):
            y = rect.top() + rect.height() * frac
            p.drawLine(QPointF(rect.left() + 4, y), QPointF(rect.right() - 4, y))
        if len(self._values) < 2:
            p.end()
            return
        top = self._maximum or max(self._values) or 1.0
        top = max(top, max(self._values))
        inner = rect.adjusted(3, 5, -3, -3)
        step = inner.width() / max(1, self._capacity - 1)
        x0 = inner.right() - step * (len(self._values) - 1)
        points = [
            QPointF(x0 + i * step, inner.bottom() - inner.height() * (v / top))
            for i, v in enumerate(self._values)
        ]
        line = QPainterPath(points[0])
        for pt in points[1:]:
            line.lineTo(pt)
        area = QPainterPath(line)
        area.lineTo(points[-1].x(), inner.bottom())
        area.lineTo(points[0].x(), inner.bottom())
        area.closeSubpath()
        accent = self._accent()
        grad = QLinearGradient(0, inner.top(), 0, inner.bottom())
        fill_top, fill_bottom = QColor(accent), QColor(accent)
        fill_top.setAlpha(90)
        fill_bottom.setAlpha(10)
        grad.setColorAt(0, fill_top)
        grad.setColorAt(1, fill_bottom)
        p.fillPath(area, grad)
        p.setPen(QPen(accent, 1.8))
        p.drawPath(line)
        p.setBrush(accent)
        p.drawEllipse(points[-1], 2.5, 2.5)
        p.end()
