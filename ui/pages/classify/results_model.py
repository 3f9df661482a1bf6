"""Qt models over classification results: one row per input, sortable and filterable.

Rows keep only a small compressed thumbnail; pixmaps are decoded when a row is
painted and held in a bounded cache, so thousands of results stay light.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QPixmap

from engine import i18n
from engine.i18n import N_, Message, _

if TYPE_CHECKING:
    from engine.inference import ItemResult

COLUMN_IMAGE, COLUMN_FILE, COLUMN_LABEL, COLUMN_CONFIDENCE = range(4)
HEADERS = (N_("Image"), N_("File"), N_("Label"), N_("Confidence"))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
_PIXMAP_CACHE = 600
UNSURE_COLOR = QColor("#b35900")
ERROR_COLOR = QColor("#b3261e")


@dataclass
class ResultRow:
    path: str
    label: str | None
    score: float | None
    predictions: list[tuple[str, float]] = field(default_factory=list)
    error_message: Message | None = None
    thumbnail: bytes | None = None

    @classmethod
    def from_result(cls, result: ItemResult) -> ResultRow:
        predictions = [(p.label, float(p.score)) for p in result.predictions]
        best = predictions[0] if predictions else (None, None)
        message = result.error_message or (Message(result.error) if result.error else None)
        return cls(result.input, best[0], best[1], predictions, message, result.thumbnail_jpeg)

    @property
    def error(self) -> str | None:
        """Translated now, in whatever language the UI shows."""
        return self.error_message.text() if self.error_message else None

    @property
    def name(self) -> str:
        return Path(self.path).name

    def to_export(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "score": self.score,
            "top": [{"label": label, "score": score} for label, score in self.predictions],
            "error": self.error,
        }


class ResultsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.threshold = 0.25
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()

    # -- content ----------------------------------------------------------
    def add_results(self, results: list[ItemResult]) -> None:
        if not results:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(results) - 1)
        self.rows.extend(ResultRow.from_result(result) for result in results)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows.clear()
        self._pixmaps.clear()
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if self.rows:
            self.dataChanged.emit(self.index(0, COLUMN_LABEL), self.index(len(self.rows) - 1, COLUMN_CONFIDENCE))

    def is_unsure(self, row: ResultRow) -> bool:
        return row.error is None and row.score is not None and row.score < self.threshold

    def pixmap(self, position: int) -> QPixmap | None:
        if position in self._pixmaps:
            self._pixmaps.move_to_end(position)
            return self._pixmaps[position]
        data = self.rows[position].thumbnail
        if not data:
            return None
        pixmap = QPixmap()
        pixmap.loadFromData(data)
        self._pixmaps[position] = pixmap
        if len(self._pixmaps) > _PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pixmap

    # -- Qt model interface ----------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(HEADERS[section])
        return None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HEADERS) - 1)
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(HEADERS) - 1))

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if column == COLUMN_IMAGE and role == Qt.ItemDataRole.DecorationRole:
            return self.pixmap(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COLUMN_FILE:
                return row.path
            if row.error:
                return row.error
            if self.is_unsure(row):
                return _("Confidence is below the unsure threshold: check this one yourself.")
        if role == Qt.ItemDataRole.ForegroundRole and column == COLUMN_LABEL:
            if row.error:
                return QBrush(ERROR_COLOR)
            if self.is_unsure(row):
                return QBrush(UNSURE_COLOR)
        return None

    def _display(self, row: ResultRow, column: int) -> str | None:
        if column == COLUMN_FILE:
            # Isolate the file name so Latin names read correctly inside Arabic text.
            return "\u2068" + row.name + "\u2069"
        if column == COLUMN_LABEL:
            if row.error:
                return row.error
            if self.is_unsure(row):
                return _("{label} (unsure)").format(label=row.label)
            return row.label
        if column == COLUMN_CONFIDENCE and row.score is not None:
            return i18n.format_percent(row.score, 1)
        return None

    @staticmethod
    def _sort_key(row: ResultRow, column: int):
        if column == COLUMN_CONFIDENCE:
            return -1.0 if row.score is None else row.score
        if column == COLUMN_LABEL:
            return (row.label or "\uffff").casefold()
        return row.name.casefold()


SHOW_ALL, SHOW_UNSURE, SHOW_ERRORS = "all", "unsure", "errors"
SHOW_CHOICES = (
    (SHOW_ALL, N_("All results")),
    (SHOW_UNSURE, N_("Unsure only")),
    (SHOW_ERRORS, N_("Errors only")),
)


class ResultsFilter(QSortFilterProxyModel):
    """Filters by label text and by kind (all, unsure, errors); sorts by real values."""

    def __init__(self, source: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setSortLocaleAware(True)  # labels and file names sort as the UI language does
        self._text = ""
        self._show = SHOW_ALL

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_show(self, show: str) -> None:
        self.beginFilterChange()
        self._show = show
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """The unsure threshold changed: rows may move in or out of "Unsure only"."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        model: ResultsModel = self.sourceModel()
        row = model.rows[source_row]
        if self._show == SHOW_ERRORS and row.error is None:
            return False
        if self._show == SHOW_UNSURE and not model.is_unsure(row):
            return False
        if self._text:
            return any(self._text in label.casefold() for label, _score in row.predictions[:1]) or \
                self._text in row.name.casefold()
        return True
