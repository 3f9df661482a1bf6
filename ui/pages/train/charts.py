"""Live training charts: loss per step and per epoch, accuracy per epoch (pyqtgraph).

pyqtgraph draws thousands of points quickly, but redrawing on every training
event froze the window in fast mode, where events arrive in bursts. Points are
stored at once and drawn at most ``REDRAWS_PER_SECOND`` times a second: a
single-shot timer coalesces the updates in between, so the last point is always
drawn within one interval of arriving, also when the run ends.
Axis titles and legends are set in ``retranslate_ui`` like every other text,
and numbers on the axes follow the UI language's digits via ``tickStrings``.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QWidget

from engine.core import i18n
from engine.core.i18n import _
from ui.retranslate import Retranslatable

#: Smallest useful plot; below twice this width the two charts stack.
PLOT_MIN = QSize(200, 130)
TRAIN_COLOUR = "#2f6fba"
VALIDATION_COLOUR = "#d0711b"
#: The most chart redraws a second while points arrive; the eye sees no difference above this.
REDRAWS_PER_SECOND = 10


class LocaleAxis(pg.AxisItem):
    """Tick labels in the UI language's number format (Arabic-Indic digits in Arabic)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        decimals = 0 if spacing * scale >= 1 else min(3, max(1, len(f"{spacing * scale:.3g}") - 2))
        return [i18n.format_number(value * scale, decimals) for value in values]


def _plot() -> pg.PlotWidget:
    plot = pg.PlotWidget(axisItems={"bottom": LocaleAxis("bottom"), "left": LocaleAxis("left")})
    plot.setBackground("w")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumSize(PLOT_MIN)
    for axis in ("bottom", "left"):
        plot.getAxis(axis).setTextPen("#333")
        plot.getAxis(axis).setPen("#888")
    # Time runs left to right in every language: a mirrored chart would read backwards.
    plot.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return plot


class TrainingCharts(Retranslatable, QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot()
        self.accuracy_plot = _plot()
        self.accuracy_plot.setYRange(0, 1)
        self.loss_legend = self.loss_plot.addLegend(offset=(-10, 10))
        self.accuracy_legend = self.accuracy_plot.addLegend(offset=(-10, -10))
        self.step_loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, width=1.5))
        self.val_loss = self.loss_plot.plot(
            pen=pg.mkPen(VALIDATION_COLOUR, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=VALIDATION_COLOUR,
        )
        self.train_accuracy = self.accuracy_plot.plot(
            pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=6, symbolBrush=TRAIN_COLOUR
        )
        self.val_accuracy = self.accuracy_plot.plot(
            pen=pg.mkPen(VALIDATION_COLOUR, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=VALIDATION_COLOUR,
        )
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._layout = layout
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(1000 // REDRAWS_PER_SECOND)
        self._redraw_timer.timeout.connect(self._redraw)
        self.clear()
        self.retranslate_ui()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """One plot wide, two plots high: narrow windows stack the charts."""
        spacing = self._layout.spacing()
        return QSize(PLOT_MIN.width(), 2 * PLOT_MIN.height() + spacing)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        side_by_side = event.size().width() >= 2 * PLOT_MIN.width() + 40
        wanted = (
            QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        )
        if self._layout.direction() != wanted:
            self._layout.setDirection(wanted)
        super().resizeEvent(event)

    def clear(self) -> None:
        self.steps: list[tuple[float, float]] = []
        self.epochs: list[tuple[int, float, float, float]] = []  # epoch, val loss, acc, val acc
        self._redraw()

    def add_step(self, epoch_position: float, loss: float) -> None:
        self.steps.append((epoch_position, loss))
        self._schedule_redraw()

    def add_epoch(self, epoch: int, val_loss: float, accuracy: float, val_accuracy: float) -> None:
        self.epochs.append((epoch, val_loss, accuracy, val_accuracy))
        self._schedule_redraw()

    def set_history(self, history: list[dict]) -> None:
        """Show a finished (or resumed) run's per-epoch history."""
        self.clear()
        for record in history:
            self.steps.append((float(record["epoch"]), float(record["loss"])))
            self.epochs.append(
                (record["epoch"], record["val_loss"], record["accuracy"], record["val_accuracy"])
            )
        self._redraw()

    def _schedule_redraw(self) -> None:
        """Draw the new points at the end of the current interval, with any that follow."""
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw(self) -> None:
        self._redraw_timer.stop()  # an immediate redraw (clear, history) makes a pending one moot
        self.step_loss.setData([x for x, _y in self.steps], [y for _x, y in self.steps])
        xs = [e[0] for e in self.epochs]
        self.val_loss.setData(xs, [e[1] for e in self.epochs])
        self.train_accuracy.setData(xs, [e[2] for e in self.epochs])
        self.val_accuracy.setData(xs, [e[3] for e in self.epochs])

    def retranslate_ui(self) -> None:
        for plot, title, left in (
            (self.loss_plot, _("Loss"), _("Loss")),
            (self.accuracy_plot, _("Accuracy"), _("Accuracy")),
        ):
            plot.setTitle(title, color="#222", size="11pt")
            plot.setLabel("bottom", _("Epoch"), color="#333")
            plot.setLabel("left", left, color="#333")
        self.loss_legend.clear()
        self.loss_legend.addItem(self.step_loss, _("Training"))
        self.loss_legend.addItem(self.val_loss, _("Validation"))
        self.accuracy_legend.clear()
        self.accuracy_legend.addItem(self.train_accuracy, _("Training"))
        self.accuracy_legend.addItem(self.val_accuracy, _("Validation"))
        self._redraw()
