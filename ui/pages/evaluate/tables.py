"""Numbers of an evaluation: headline metric cards, the per-class table, the comparison table.

Values are kept as numbers (the sort role) and formatted only for display, in
the UI locale, so a language switch or a sort never parses text back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import N_, _
from engine.models.evaluation import ClassReport
from ui.widgets.rows_model import RowsTableModel, SortProxy

PER_CLASS_HEADERS = (N_("Class"), N_("Precision"), N_("Recall"), N_("F1"), N_("Examples"))
WEAK = QColor("#b3261e")
#: F1 below this marks a class as weak (red), so the eye finds it in a long table.
WEAK_F1 = 0.5


class PerClassModel(RowsTableModel):
    HEADERS = PER_CLASS_HEADERS
    TRAILING_COLUMNS = frozenset(range(1, len(PER_CLASS_HEADERS)))
    rows: list[ClassReport]

    def set_reports(self, reports: list[ClassReport]) -> None:
        self.set_rows(reports)

    @staticmethod
    def _value(report: ClassReport, column: int) -> str | float | int:
        return (report.label, report.precision, report.recall, report.f1, report.support)[column]

    def sort_value(self, row: ClassReport, column: int):
        value = self._value(row, column)
        return value.casefold() if isinstance(value, str) else value

    def display(self, row: ClassReport, column: int) -> str:
        value = self._value(row, column)
        if column == 0:
            return value
        if column == 4:
            return i18n.format_number(value)
        return i18n.format_percent(value, 1)

    def foreground(self, row: ClassReport, column: int) -> QBrush | None:
        return QBrush(WEAK) if column == 3 and row.support and row.f1 < WEAK_F1 else None


def per_class_view(proxy: SortProxy) -> QTableView:
    """The per-class table, sorted by F1 so the weakest classes come first."""
    view = QTableView()
    view.setObjectName("perClassTable")
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view


class ModelCombo(QComboBox):
    """The models one can pick (data: the package path), then "Open model…" (data: ``OPEN``)."""

    OPEN = "\0open"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluateModelCombo")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def set_models(self, choices: list[tuple[str, str]], current: str) -> None:
        self.blockSignals(True)
        self.clear()
        for key, name in choices:
            self.addItem(name, key)
            self.setItemData(self.count() - 1, key, Qt.ItemDataRole.ToolTipRole)
        if not self.count() or self.findData(current) < 0:  # none open: say so, never pretend
            self.insertItem(0, "", "")
        self.insertSeparator(self.count())
        self.addItem("", self.OPEN)
        self.setCurrentIndex(max(self.findData(current), 0))
        self.blockSignals(False)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        if self.count() and not self.itemData(0):  # 3: this, a separator, "Open model…"
            self.setItemText(
                0, _("No trained model yet") if self.count() == 3 else _("Choose a model…")
            )
        self.setItemText(self.findData(self.OPEN), _("Open model…"))


class MetricCard(QFrame):
    """A big number with a caption, and a tooltip that says what the number means."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.caption = QLabel()
        self.caption.setStyleSheet("color: #5f6b7a;")
        self.caption.setWordWrap(True)
        self.value = QLabel("—")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.value.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)


class MetricCards(QWidget):
    """Accuracy, macro-F1, calibration error and the number of examples counted."""

    KEYS = ("accuracy", "macro_f1", "ece", "count")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards = {key: MetricCard(f"metric_{key}") for key in self.KEYS}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for card in self.cards.values():
            layout.addWidget(card, 1)
        self.summary: dict | None = None
        self.retranslate_ui()

    def set_summary(self, summary: dict | None) -> None:
        self.summary = summary
        self.retranslate_ui()

    def text(self, key: str) -> str:
        return self.cards[key].value.text()

    def retranslate_ui(self) -> None:
        captions = {
            "accuracy": _("Accuracy"),
            "macro_f1": _("Macro-F1"),
            "ece": _("Calibration error (ECE)"),
            "count": _("Examples counted"),
        }
        tips = {
            "accuracy": _("Share of examples whose most likely label is the right one."),
            "macro_f1": _(
                "F1 averaged over the classes, each class counting the same: "
                "low when a small class is poorly recognised."
            ),
            "ece": _(
                "How far the model's confidence is from how often it is right ({perfect} is "
                "perfect)."
            ).format(perfect=i18n.format_percent(0.0)),
            "count": _("Examples the numbers are based on."),
        }
        for key, card in self.cards.items():
            card.caption.setText(captions[key])
            card.setToolTip(tips[key])
            card.value.setText(format_metric(key, self.summary[key]) if self.summary else "—")


def format_metric(key: str, value: float | int) -> str:
    if key == "count":
        return i18n.format_number(int(value))
    return i18n.format_percent(float(value), 1)


def format_delta(key: str, value: float) -> str:
    """A signed difference: "+2.5%" (percentage points for rates), "−3" for counts."""
    text = format_metric(key, abs(value))
    if not value:
        return text
    return ("+" if value > 0 else "\u2212") + text
