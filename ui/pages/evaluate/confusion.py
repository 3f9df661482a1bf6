"""The confusion matrix: true classes down, predicted classes across, every cell clickable.

Drawn with QPainter (one widget, no item per cell) so a 100-class matrix stays
cheap. Cells are coloured by their share of the true class's row — blue on the
diagonal (right answers), orange off it (mistakes) — so a weak class stands out
whatever its size; any non-empty cell gets at least a visible tint. Column labels
are turned upright to fit many classes; long labels are elided with the full text
in the tooltip. In a right-to-left layout the whole matrix is mirrored: row labels
on the right, the first class's column rightmost, as a table reads there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from engine.core import i18n
from engine.core.i18n import _

RIGHT = QColor("#2f6fba")
WRONG = QColor("#c0501b")
MIN_CELL, MAX_CELL = 16, 72
MAX_LABEL = 130  # px of label text before eliding
TITLE = 20  # height of an axis title


def _blend(colour: QColor, share: float) -> QColor:
    """White at 0, ``colour`` at 1 (light cells keep dark text readable)."""
    share = max(0.0, min(1.0, share))
    return QColor(
        int(255 + (colour.red() - 255) * share),
        int(255 + (colour.green() - 255) * share),
        int(255 + (colour.blue() - 255) * share),
    )


class ConfusionMatrix(QWidget):
    """Emits ``cell_clicked(true_index, predicted_index)`` on a click or Enter."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.labels: list[str] = []
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.selected: tuple[int, int] | None = None

    def set_data(self, labels: list[str], matrix: np.ndarray) -> None:
        self.labels = list(labels)
        self.matrix = np.asarray(matrix, dtype=np.int64)
        self.selected = None
        self.updateGeometry()
        self.update()

    # -- geometry (computed left-to-right, mirrored at the end for RTL) -------------
    def _label_extent(self) -> int:
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(label) for label in self.labels), default=0)
        return min(widest, MAX_LABEL) + 10

    def _title(self) -> int:
        """Room for an axis title: taller than ``TITLE`` in scripts with tall glyphs (Arabic,
        Hindi), whose rotated title would otherwise run over the row labels."""
        bold = self.font()
        bold.setBold(True)
        return max(TITLE, QFontMetrics(bold).height() + 4)

    def _layout(self) -> tuple[float, float, float]:
        """(left margin, top margin, cell size) in left-to-right coordinates."""
        extent = self._label_extent()
        title = self._title()
        left, top = title + extent, title + extent
        count = max(1, len(self.labels))
        room = min(self.width() - left - 4, self.height() - top - 4)
        return left, top, float(max(MIN_CELL, min(MAX_CELL, room / count)))

    def _mirror(self, rect: QRectF) -> QRectF:
        if self.layoutDirection() != Qt.LayoutDirection.RightToLeft:
            return rect
        return QRectF(self.width() - rect.x() - rect.width(), rect.y(), rect.width(), rect.height())

    def cell_rect(self, true_index: int, pred_index: int) -> QRectF:
        left, top, cell = self._layout()
        return self._mirror(QRectF(left + pred_index * cell, top + true_index * cell, cell, cell))

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        left, top, cell = self._layout()
        x = point.x()
        if self.layoutDirection() == Qt.LayoutDirection.RightToLeft:
            x = self.width() - x
        column, row = int((x - left) // cell), int((point.y() - top) // cell)
        count = len(self.labels)
        if x < left or point.y() < top or not (0 <= row < count and 0 <= column < count):
            return None
        return row, column

    def sizeHint(self) -> QSize:  # noqa: N802
        extent = self._title() + self._label_extent()
        side = extent + len(self.labels) * 44 + 8
        return QSize(side, side)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        extent = self._title() + self._label_extent()
        side = extent + len(self.labels) * MIN_CELL + 8
        return QSize(side, side)

    # -- painting --------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        count = len(self.labels)
        text_colour = self.palette().text().color()
        if not count:
            painter.setPen(text_colour)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, _("No evaluation to show yet.")
            )
            return
        left, top, cell = self._layout()
        extent = self._label_extent()
        title = self._title()
        rtl = self.layoutDirection() == Qt.LayoutDirection.RightToLeft
        metrics = QFontMetrics(self.font())
        totals = self.matrix.sum(axis=1)
        painter.setPen(text_colour)
        bold = self.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(
            self._mirror(QRectF(left, 0, cell * count, title)),
            Qt.AlignmentFlag.AlignCenter,
            _("Predicted label"),
        )
        painter.save()  # the row axis title reads upwards along the row labels
        title_rect = self._mirror(QRectF(0, top, title, cell * count))
        painter.translate(title_rect.center())
        painter.rotate(-90 if not rtl else 90)
        painter.drawText(
            QRectF(-cell * count / 2, -title / 2, cell * count, title),
            Qt.AlignmentFlag.AlignCenter,
            _("True label"),
        )
        painter.restore()
        painter.setFont(self.font())
        near = Qt.AlignmentFlag.AlignRight if not rtl else Qt.AlignmentFlag.AlignLeft
        for index, label in enumerate(self.labels):
            elided = metrics.elidedText(label, Qt.TextElideMode.ElideRight, MAX_LABEL)
            row_rect = self._mirror(QRectF(title, top + index * cell, extent - 6, cell))
            painter.drawText(row_rect, near | Qt.AlignmentFlag.AlignVCenter, elided)
            column_rect = self._mirror(QRectF(left + index * cell, title, cell, extent - 6))
            painter.save()  # upright column labels, reading bottom to top, ending at the cells
            painter.translate(column_rect.center())
            painter.rotate(-90)
            painter.drawText(
                QRectF(-column_rect.height() / 2, -cell / 2, column_rect.height(), cell),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                elided,
            )
            painter.restore()
        for row in range(count):
            for column in range(count):
                value = int(self.matrix[row, column])
                share = value / totals[row] if totals[row] else 0.0
                share = 0.0 if not value else 0.2 + 0.8 * share  # a single mistake still shows
                rect = self.cell_rect(row, column)
                base = RIGHT if row == column else WRONG
                painter.fillRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), _blend(base, share))
                if cell >= 22 and (value or row == column):
                    painter.setPen(QColor("white") if share > 0.6 else QColor("#202020"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, i18n.format_number(value))
        painter.setPen(QPen(QColor("#b0b0b0"), 1))
        painter.drawRect(self._mirror(QRectF(left, top, cell * count, cell * count)))
        if self.selected is not None:
            painter.setPen(QPen(text_colour, 2.5))
            painter.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1, -1))

    # -- interaction -------------------------------------------------------------------
    def select(self, true_index: int, pred_index: int) -> None:
        self.selected = (true_index, pred_index)
        self.update()
        self.cell_clicked.emit(true_index, pred_index)

    def cell_tooltip(self, true_index: int, pred_index: int) -> str:
        value = int(self.matrix[true_index, pred_index])
        total = int(self.matrix[true_index].sum())
        text = i18n.ngettext(
            "True: {true} · predicted: {predicted} · {n} example",
            "True: {true} · predicted: {predicted} · {n} examples",
            value,
        ).format(
            true=self.labels[true_index],
            predicted=self.labels[pred_index],
            n=i18n.format_number(value),
        )
        if total:
            text += (
                " ("
                + _("{share} of {true}").format(
                    share=i18n.format_percent(value / total, 1), true=self.labels[true_index]
                )
                + ")"
            )
        return text

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        found = self.cell_at(event.position())
        if found is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(*found)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        found = self.cell_at(event.position())
        if found is None:
            QToolTip.hideText()
            self.setToolTip("")
        else:
            self.setToolTip(self.cell_tooltip(*found))
        super().mouseMoveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        count = len(self.labels)
        if not count:
            return super().keyPressEvent(event)
        row, column = self.selected or (0, 0)
        forward = 1 if self.layoutDirection() == Qt.LayoutDirection.LeftToRight else -1
        moves = {
            Qt.Key.Key_Up: (-1, 0),
            Qt.Key.Key_Down: (1, 0),
            Qt.Key.Key_Left: (0, -forward),
            Qt.Key.Key_Right: (0, forward),
        }
        if event.key() in moves:
            step_row, step_column = moves[event.key()]
            row = min(count - 1, max(0, row + step_row))
            column = min(count - 1, max(0, column + step_column))
            self.select(row, column)
            return None
        return super().keyPressEvent(event)
