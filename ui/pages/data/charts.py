"""A small horizontal bar chart: labels, bars and counts, mirrored for right-to-left languages.

Drawn with QPainter so it costs nothing at start-up and follows the UI font,
locale digits and layout direction.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.core import i18n

BAR_COLOUR = QColor("#2f6fba")
_ROW = 22
_MAX_BARS = 25


class BarChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, int]] = []
        self._title = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_data(self, counts: dict[str, int], title: str = "") -> None:
        self._items = sorted(
            ((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])
        )
        self._title = title
        self.updateGeometry()
        self.update()

    def set_title(self, title: str) -> None:
        self._title = title
        self.update()

    @property
    def items(self) -> list[tuple[str, int]]:
        return list(self._items)

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = min(len(self._items), _MAX_BARS) + (1 if len(self._items) > _MAX_BARS else 0)
        return QSize(360, 28 + rows * _ROW)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 60)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        rtl = self.layoutDirection() == Qt.LayoutDirection.RightToLeft
        width = self.width()
        painter.drawText(
            QRectF(4, 2, width - 8, 20),
            (Qt.AlignmentFlag.AlignRight if rtl else Qt.AlignmentFlag.AlignLeft)
            | Qt.AlignmentFlag.AlignVCenter,
            self._title,
        )
        shown = self._items[:_MAX_BARS]
        if not shown:
            return
        label_width = min(
            max(metrics.horizontalAdvance(name) for name, _ in shown) + 12, width * 0.4
        )
        value_width = max(metrics.horizontalAdvance(i18n.format_number(v)) for _, v in shown) + 10
        top = max(value for _, value in shown) or 1
        room = max(10.0, width - label_width - value_width - 8)
        for row, (name, value) in enumerate(shown):
            y = 26 + row * _ROW
            length = room * value / top
            label_rect = (
                QRectF(width - label_width, y, label_width - 4, _ROW - 4)
                if rtl
                else QRectF(4, y, label_width - 8, _ROW - 4)
            )
            bar_x = width - label_width - length if rtl else label_width
            bar_rect = QRectF(bar_x, y + 2, length, _ROW - 8)
            value_rect = (
                QRectF(bar_x - value_width - 2, y, value_width, _ROW - 4)
                if rtl
                else QRectF(bar_x + length + 4, y, value_width, _ROW - 4)
            )
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(label_rect.width()))
            align_label = (
                Qt.AlignmentFlag.AlignLeft if rtl else Qt.AlignmentFlag.AlignRight
            ) | Qt.AlignmentFlag.AlignVCenter
            painter.setPen(self.palette().text().color())
            painter.drawText(label_rect, align_label, elided)
            painter.fillRect(bar_rect, BAR_COLOUR)
            align_value = (
                Qt.AlignmentFlag.AlignRight if rtl else Qt.AlignmentFlag.AlignLeft
            ) | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(value_rect, align_value, i18n.format_number(value))
        if len(self._items) > _MAX_BARS:
            more = len(self._items) - _MAX_BARS
            y = 26 + _MAX_BARS * _ROW
            painter.drawText(
                QRectF(4, y, width - 8, _ROW),
                Qt.AlignmentFlag.AlignCenter,
                i18n.ngettext("and {n} more", "and {n} more", more).format(
                    n=i18n.format_number(more)
                ),
            )
