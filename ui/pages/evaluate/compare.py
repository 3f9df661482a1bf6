"""Two models side by side: headline numbers, differences, and who gets which examples right.

Differences are coloured by whether they are better (green) or worse (red) —
higher is better for accuracy and macro-F1, lower for the calibration error.
Agreement counts appear only for examples both models were evaluated on.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import N_, _
from ui.pages.evaluate.tables import format_delta, format_metric
from ui.retranslate import Retranslatable

ROWS = (
    ("accuracy", N_("Accuracy")),
    ("macro_f1", N_("Macro-F1")),
    ("ece", N_("Calibration error (ECE)")),
    ("count", N_("Examples counted")),
)
BETTER, WORSE = QColor("#1d7a3a"), QColor("#b3261e")
LOWER_IS_BETTER = {"ece"}


class ComparePanel(Retranslatable, QWidget):
    """``model_chosen(key)`` when the user picks the second model ("" for none)."""

    model_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparePanel")
        self.result: dict | None = None
        self.names = ("", "")
        self.choose_label = QLabel()
        self.combo = QComboBox()
        self.combo.setObjectName("compareCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.activated.connect(
            lambda _i: self.model_chosen.emit(self.combo.currentData() or "")
        )
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.table = QTableWidget(len(ROWS), 3)
        self.table.setObjectName("compareTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.agreement = QLabel()
        self.agreement.setObjectName("compareAgreement")
        self.agreement.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.choose_label)
        top.addWidget(self.combo, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addWidget(self.table)
        layout.addWidget(self.agreement)
        layout.addStretch(1)
        self.retranslate_ui()

    def set_choices(self, choices: list[tuple[str, str]], current: str = "") -> None:
        """``(key, name)`` of the models one can compare with; keeps ``current`` selected."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("", "")
        for key, name in choices:
            self.combo.addItem(name, key)
        index = self.combo.findData(current)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)
        self.combo.setItemText(0, _("(choose a model)"))

    def show_result(self, result: dict | None, names: tuple[str, str] = ("", "")) -> None:
        self.result, self.names = result, names
        self.retranslate_ui()

    def _fill(self) -> None:
        result = self.result
        self.table.setHorizontalHeaderLabels(
            [self.names[0] or _("This model"), self.names[1] or _("Other model"), _("Difference")]
        )
        self.table.setVerticalHeaderLabels([_(title) for _key, title in ROWS])
        for row, (key, _title) in enumerate(ROWS):
            for column in range(3):
                item = QTableWidgetItem("—")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, item)
            if result is None:
                continue
            first, second = result["a"][key], result["b"][key]
            self.table.item(row, 0).setText(format_metric(key, first))
            self.table.item(row, 1).setText(format_metric(key, second))
            delta = second - first
            cell = self.table.item(row, 2)
            cell.setText(format_delta(key, delta))
            if delta and key != "count":
                good = (delta < 0) if key in LOWER_IS_BETTER else (delta > 0)
                cell.setForeground(QBrush(BETTER if good else WORSE))
        self._fit_height()

    def _fit_height(self) -> None:
        """Exactly as tall as its rows: no empty band under the last one."""
        rows = sum(self.table.rowHeight(row) for row in range(self.table.rowCount()))
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(rows + header + 2 * self.table.frameWidth())

    def agreement_text(self) -> str:
        result = self.result
        if result is None:
            return ""
        if not result["common"]:
            return _(
                "The two evaluations share no examples, so they cannot be compared "
                "example by example."
            )
        counts = {
            key: i18n.format_number(result[key])
            for key in ("both_right", "only_a_right", "only_b_right", "both_wrong")
        }
        intro = i18n.ngettext(
            "On the {n} example both models were evaluated on:",
            "On the {n} examples both models were evaluated on:",
            result["common"],
        ).format(n=i18n.format_number(result["common"]))
        lines = [
            intro,
            _("both right: {n}").format(n=counts["both_right"]),
            _("only {model} right: {n}").format(model=self.names[0], n=counts["only_a_right"]),
            _("only {model} right: {n}").format(model=self.names[1], n=counts["only_b_right"]),
            _("both wrong: {n}").format(n=counts["both_wrong"]),
        ]
        text = "\n• ".join(lines)
        if not result["same_items"]:
            text += "\n" + _(
                "The headline numbers were measured on different examples; compare them with care."
            )
        return text

    def retranslate_ui(self) -> None:
        self.choose_label.setText(_("Compare with:"))
        if self.combo.count():
            self.combo.setItemText(0, _("(choose a model)"))
        self.hint.setText(
            _(
                "Both models are evaluated on the same data as the model above: "
                "its saved validation split, or the current dataset."
            )
        )
        self._fill()
        self.agreement.setText(self.agreement_text())
