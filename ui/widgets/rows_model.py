"""One base for the pages' table models: a Python list of rows, columns drawn by hooks.

Every results or findings table answered ``rowCount``, ``columnCount``,
``headerData`` and ``data`` the same way and only differed in what a cell says;
here that boilerplate lives once. A subclass names its column titles
(``HEADERS``, translated when painted) and answers the per-role hooks
(``display``, ``tooltip``, ``decoration``, ``foreground``, ``sort_value``) for one
row object and column; the model stays virtual (no item per cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from engine.core.i18n import _

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
#: Numbers line up on their last digit, in the reading direction of the UI language.
TRAILING = int(Qt.AlignmentFlag.AlignTrailing | Qt.AlignmentFlag.AlignVCenter)
_HOOKS = {
    Qt.ItemDataRole.DisplayRole: "display",
    Qt.ItemDataRole.ToolTipRole: "tooltip",
    Qt.ItemDataRole.DecorationRole: "decoration",
    Qt.ItemDataRole.ForegroundRole: "foreground",
    SORT_ROLE: "sort_value",
}


class RowsTableModel(QAbstractTableModel):
    """``rows`` shown one per line; ``ROW_ROLE`` hands a view the row object itself."""

    #: Column titles (msgids), translated when the header is painted.
    HEADERS: Sequence[str] = ()
    #: Columns whose cells align like numbers.
    TRAILING_COLUMNS: frozenset[int] = frozenset()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    # -- content -----------------------------------------------------------------------
    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def add_rows(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def clear(self) -> None:
        self.set_rows([])

    def row_at(self, position: int) -> Any:
        """The row shown at view position ``position`` (a sorting model maps it)."""
        return self.rows[position]

    def column_count(self) -> int:
        return len(self.HEADERS)

    def title(self, section: int) -> str:
        return _(self.HEADERS[section])

    def row_title(self, section: int) -> str | None:
        """The vertical header's text (none unless a model shows row numbers)."""
        return None

    def retranslate(self) -> None:
        """Titles and cells are worded in the UI language: paint them again."""
        columns = self.column_count()
        if columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, columns - 1)
        if columns and self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, columns - 1))

    # -- per-cell hooks (None: nothing for that role) ------------------------------------
    def display(self, row: Any, column: int) -> Any:
        return None

    def tooltip(self, row: Any, column: int) -> Any:
        return None

    def decoration(self, row: Any, column: int) -> Any:
        return None

    def foreground(self, row: Any, column: int) -> Any:
        return None

    def sort_value(self, row: Any, column: int) -> Any:
        return None

    # -- Qt model interface ------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self.column_count()

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.title(section)
        return self.row_title(section)

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return TRAILING if index.column() in self.TRAILING_COLUMNS else None
        hook = _HOOKS.get(role)
        return None if hook is None else getattr(self, hook)(row, index.column())


class SortProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` (values, not the formatted text), in the UI language's order."""

    LOCALE_AWARE = True

    def __init__(self, source: QAbstractTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        if self.LOCALE_AWARE:
            self.setSortLocaleAware(True)  # label columns sort as the UI language does
