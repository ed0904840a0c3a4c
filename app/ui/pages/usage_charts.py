"""Small QPainter charts for the Usage page (no QtCharts): stacked bars and lines.

Colours come from the theme at paint time (``current_colors``) so the charts read in light and
dark alike; text uses the palette's text colours. The data a chart shows is kept as plain
lists (``series``), which tests compare with the backend's report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui.theme import current_colors

Formatter = Callable[[float], str]


@dataclass
class Series:
    name: str
    values: list[float | None]
    color: str  # a ``Colors`` attribute name (accent, assistant, warning_text...)


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exp
        if top >= value * 0.999:
            return float(top)
    return float(10 ** (exp + 1))  # pragma: no cover


def compact(value: float) -> str:
    """1234 -> 1.2K, 3_400_000 -> 3.4M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


class Chart(QWidget):
    """Axes, grid, legend and labels; subclasses draw the data in ``plot``."""

    def __init__(self, title: str, fmt: Formatter = compact, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.fmt = fmt
        self.labels: list[str] = []
        self.series: list[Series] = []
        self.empty_text = "No usage recorded yet."
        self.setAccessibleName(title)
        self.setMinimumSize(280, 190)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(420, 230)

    def set_data(self, labels: list[str], series: list[Series]) -> None:
        self.labels, self.series = list(labels), list(series)
        parts = []
        for s in series:
            known = [v for v in s.values if v is not None]
            last = self.fmt(known[-1]) if known else "none"
            parts.append(f"{s.name}: latest {last}")
        self.setAccessibleDescription(f"{self.title}. " + "; ".join(parts))
        self.update()

    # ------------------------------------------------------------ scale
    def value_range(self) -> tuple[float, float]:
        values = [v for s in self.series for v in s.values if v is not None]
        low = min([0.0, *values])
        high = max([0.0, *values])
        if low < 0:
            return -nice_ceiling(-low), nice_ceiling(high) if high > 0 else 0.0
        return 0.0, nice_ceiling(high)

    # ------------------------------------------------------------ paint
    def paintEvent(self, _event: object) -> None:
        c = current_colors()
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        muted = QColor(c.muted)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() * 0.85))
        p.setFont(font)
        fm = QFontMetricsF(font)
        bounds = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(QColor(c.border), 1))
        p.setBrush(QColor(c.surface))
        p.drawRoundedRect(bounds, 10, 10)

        title_font = QFont(font)
        title_font.setBold(True)
        p.setFont(title_font)
        p.setPen(text)
        p.drawText(QRectF(14, 8, self.width() - 28, fm.height() + 4), self.title)
        p.setFont(font)
        self._legend(p, fm, c)

        low, high = self.value_range()
        axis_w = max(fm.horizontalAdvance(self.fmt(v)) for v in (low, high, (low + high) / 2))
        plot = QRectF(
            14 + axis_w + 6,
            14 + fm.height() * 2 + 6,
            self.width() - (14 + axis_w + 6) - 14,
            self.height() - (14 + fm.height() * 2 + 6) - fm.height() - 14,
        )
        if plot.width() < 20 or plot.height() < 20:
            p.end()
            return
        grid = QColor(c.border)
        for i in range(5):
            value = low + (high - low) * i / 4
            y = plot.bottom() - plot.height() * i / 4
            p.setPen(QPen(grid, 1, Qt.PenStyle.SolidLine if value == 0 else Qt.PenStyle.DotLine))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(muted)
            label_rect = QRectF(4, y - fm.height() / 2, axis_w + 10, fm.height())
            p.drawText(label_rect, Qt.AlignmentFlag.AlignRight, self.fmt(value))
        if not self.labels or not any(v is not None for s in self.series for v in s.values):
            p.setPen(muted)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        self._x_labels(p, fm, plot, muted)
        self.plot(p, plot, low, high)
        p.end()

    def _legend(self, p: QPainter, fm: QFontMetricsF, c: object) -> None:
        x = self.width() - 14.0
        y = 10 + fm.height() + 2
        for s in reversed(self.series):
            w = fm.horizontalAdvance(s.name)
            x -= w
            p.setPen(self.palette().color(QPalette.ColorRole.Text))
            p.drawText(QPointF(x, y + fm.ascent()), s.name)
            x -= 14
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(getattr(c, s.color)))
            p.drawRoundedRect(QRectF(x, y + fm.ascent() - 9, 10, 10), 2, 2)
            x -= 14

    def _x_labels(self, p: QPainter, fm: QFontMetricsF, plot: QRectF, muted: QColor) -> None:
        n = len(self.labels)
        widest = max(fm.horizontalAdvance(label) for label in self.labels) + 12
        every = max(1, math.ceil(n * widest / max(1.0, plot.width())))
        p.setPen(muted)
        for i, label in enumerate(self.labels):
            if i % every and i != n - 1:
                continue
            x = self.x_at(plot, i)
            rect = QRectF(x - widest / 2, plot.bottom() + 4, widest, fm.height())
            p.drawText(rect, Qt.AlignmentFlag.AlignHCenter, label)

    def x_at(self, plot: QRectF, i: int) -> float:
        n = len(self.labels)
        return plot.left() + plot.width() * (i + 0.5) / n

    def y_at(self, plot: QRectF, low: float, high: float, value: float) -> float:
        span = (high - low) or 1.0
        return plot.bottom() - plot.height() * (value - low) / span

    def plot(self, p: QPainter, plot: QRectF, low: float, high: float) -> None:
        raise NotImplementedError


class StackedBarChart(Chart):
    """Bars per label, series stacked bottom-up (tokens in and out per day)."""

    def value_range(self) -> tuple[float, float]:
        totals = [sum((s.values[i] or 0.0) for s in self.series) for i in range(len(self.labels))]
        return 0.0, nice_ceiling(max([0.0, *totals]))

    def plot(self, p: QPainter, plot: QRectF, low: float, high: float) -> None:
        c = current_colors()
        n = len(self.labels)
        width = max(2.0, min(36.0, plot.width() / n * 0.68))
        for i in range(n):
            base = 0.0
            x = self.x_at(plot, i) - width / 2
            for s in self.series:
                value = s.values[i] or 0.0
                if value <= 0:
                    continue
                top = self.y_at(plot, low, high, base + value)
                bottom = self.y_at(plot, low, high, base)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(getattr(c, s.color)))
                p.drawRect(QRectF(x, top, width, bottom - top))
                base += value


class LineChart(Chart):
    """One line per series; gaps where a value is None; optional soft fill under the first."""

    def __init__(self, title: str, fmt: Formatter = compact, fill: bool = False, parent=None):
        super().__init__(title, fmt, parent)
        self.fill = fill

    def plot(self, p: QPainter, plot: QRectF, low: float, high: float) -> None:
        c = current_colors()
        zero = self.y_at(plot, low, high, 0.0)
        for index, s in enumerate(self.series):
            colour = QColor(getattr(c, s.color))
            points = [
                QPointF(self.x_at(plot, i), self.y_at(plot, low, high, v))
                for i, v in enumerate(s.values)
                if v is not None
            ]
            if not points:
                continue
            if self.fill and index == 0 and len(points) > 1:
                area = QPainterPath(QPointF(points[0].x(), zero))
                for pt in points:
                    area.lineTo(pt)
                area.lineTo(QPointF(points[-1].x(), zero))
                area.closeSubpath()
                soft = QColor(colour)
                soft.setAlpha(60)
                p.fillPath(area, soft)
            p.setPen(QPen(colour, 2.2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            path = QPainterPath(points[0])
            for pt in points[1:]:
                path.lineTo(pt)
            p.drawPath(path)
            p.setBrush(colour)
            for pt in points:
                p.drawEllipse(pt, 2.6, 2.6)
