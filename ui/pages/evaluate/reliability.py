"""The reliability diagram: does "90 % sure" mean right nine times in ten?

Each bar is one confidence bin: its height is how often the model was right on
the examples it put there, the dashed diagonal is where a perfectly calibrated
model's bars would end, and the hatched gap between a bar and the bin's mean
confidence is the miscalibration the expected calibration error averages. Drawn with QPainter
in the UI font with locale digits; mirrored in right-to-left layouts like the
app's other charts.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from engine.core import i18n
from engine.core.i18n import _
from engine.models.evaluation import ReliabilityBin

BAR = QColor("#2f6fba")
GAP = QColor("#c0501b")
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


class ReliabilityDiagram(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reliabilityDiagram")
        self.bins: list[ReliabilityBin] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(260, 220)

    def set_bins(self, bins: list[ReliabilityBin]) -> None:
        self.bins = list(bins)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 360)

    def _plot_rect(self) -> QRectF:
        metrics = QFontMetrics(self.font())
        axis = metrics.horizontalAdvance(i18n.format_percent(1.0)) + 8
        line = metrics.height()
        margin = axis + line + 6  # tick labels plus the rotated axis title
        side = min(self.width() - margin - 12, self.height() - 2 * line - 24)
        side = max(side, 40)
        rtl = self.layoutDirection() == Qt.LayoutDirection.RightToLeft
        x = self.width() - margin - side if rtl else margin
        return QRectF(x, 8, side, side)

    def _x(self, plot: QRectF, value: float) -> float:
        if self.layoutDirection() == Qt.LayoutDirection.RightToLeft:
            return plot.right() - value * plot.width()
        return plot.left() + value * plot.width()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot_rect()
        rtl = self.layoutDirection() == Qt.LayoutDirection.RightToLeft
        text = self.palette().text().color()
        metrics = QFontMetrics(self.font())
        painter.fillRect(plot, self.palette().base())
        painter.setPen(QPen(QColor("#d0d0d0"), 1))
        for tick in TICKS:  # grid
            y = plot.bottom() - tick * plot.height()
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            x = self._x(plot, tick)
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        for b in self.bins:
            if not b.count:
                continue
            x0, x1 = sorted((self._x(plot, b.lower), self._x(plot, b.upper)))
            bar = QRectF(
                x0 + 1,
                plot.bottom() - b.accuracy * plot.height(),
                x1 - x0 - 2,
                b.accuracy * plot.height(),
            )
            painter.fillRect(bar, BAR)
            # the gap to the bin's mean confidence: where a calibrated bar would end
            top, bottom = sorted((b.accuracy, b.confidence))
            gap = QRectF(
                x0 + 1,
                plot.bottom() - bottom * plot.height(),
                x1 - x0 - 2,
                (bottom - top) * plot.height(),
            )
            painter.fillRect(gap, QBrush(GAP, Qt.BrushStyle.BDiagPattern))
        painter.setPen(QPen(text, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(
            QPointF(self._x(plot, 0), plot.bottom()), QPointF(self._x(plot, 1), plot.top())
        )
        painter.setPen(QPen(text, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(plot)
        line = metrics.height()
        for tick in TICKS:
            label = i18n.format_percent(tick)
            y = plot.bottom() - tick * plot.height()
            width = metrics.horizontalAdvance(label) + 4
            label_x = plot.right() + 4 if rtl else plot.left() - width - 4
            painter.drawText(
                QRectF(label_x, y - line / 2, width, line), Qt.AlignmentFlag.AlignCenter, label
            )
            x = self._x(plot, tick)
            painter.drawText(
                QRectF(x - width / 2, plot.bottom() + 2, width, line),
                Qt.AlignmentFlag.AlignCenter,
                label,
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + line + 4, plot.width(), line + 4),
            Qt.AlignmentFlag.AlignCenter,
            _("Confidence"),
        )
        painter.save()
        title_x = (
            plot.right() + metrics.horizontalAdvance(i18n.format_percent(1.0)) + 10 + line / 2
            if rtl
            else plot.left() - metrics.horizontalAdvance(i18n.format_percent(1.0)) - 10 - line / 2
        )
        painter.translate(title_x, plot.center().y())
        painter.rotate(90 if rtl else -90)
        painter.drawText(
            QRectF(-plot.height() / 2, -line / 2, plot.height(), line),
            Qt.AlignmentFlag.AlignCenter,
            _("Accuracy"),
        )
        painter.restore()
        if not any(b.count for b in self.bins):
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, _("No evaluation to show yet."))


class CalibrationPanel(QWidget):
    """The diagram beside a few sentences on how to read it (set by the page)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diagram = ReliabilityDiagram()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout = QHBoxLayout(self)
        layout.addWidget(self.diagram, 3)
        layout.addWidget(self.text, 2)
