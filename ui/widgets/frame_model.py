"""A virtual table over a pandas DataFrame: Qt asks for the cells it paints, nothing more.

A million-row table scrolls smoothly because no widget or item exists per cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from engine.core import i18n

if TYPE_CHECKING:
    import pandas as pd

_MAX_CELL = 300


class FrameModel(QAbstractTableModel):
    """``localized_numbers``: the numbers in the frame are Taxon's own (counts, line numbers),
    shown in the UI language's digits (``i18n.number_shown``); a preview of the user's own
    table leaves it off, so their data reads as written."""

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        headers: dict[str, str] | None = None,
        parent=None,
        localized_numbers: bool = False,
    ) -> None:
        super().__init__(parent)
        self.localized_numbers = localized_numbers
        self._frame = frame
        self._columns: list = []
        self._arrays: list = []
        self.headers = headers or {}
        if frame is not None:
            self.set_frame(frame)

    def set_frame(self, frame: pd.DataFrame | None, columns: list | None = None) -> None:
        self.beginResetModel()
        self._frame = frame
        if frame is None:
            self._columns, self._arrays = [], []
        else:
            self._columns = list(columns) if columns is not None else list(frame.columns)
            # Column arrays are taken once; a cell read is then a plain array lookup.
            self._arrays = [
                frame[column].to_numpy(dtype=object, na_value=None) for column in self._columns
            ]
        self.endResetModel()

    @property
    def frame(self) -> pd.DataFrame | None:
        return self._frame

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self._frame is None else len(self._frame)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        value = self._arrays[index.column()][index.row()]
        if value is None:
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        if self.localized_numbers:
            value = i18n.number_shown(str(self._columns[index.column()]), value)
        text = str(value)
        if role == Qt.ItemDataRole.DisplayRole:
            return text if len(text) <= _MAX_CELL else text[:_MAX_CELL] + "…"
        return text if len(text) > 40 else None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            column = str(self._columns[section])
            return self.headers.get(column, column)
        return i18n.localize_digits(str(section + 1))  # a row number, in the UI's digits

    def retranslate(self, headers: dict[str, str]) -> None:
        self.headers = headers
        if self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)
        if self.rowCount():
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, self.rowCount() - 1)
            if self.localized_numbers and self._columns:
                last = self.index(self.rowCount() - 1, len(self._columns) - 1)
                self.dataChanged.emit(self.index(0, 0), last, [Qt.ItemDataRole.DisplayRole])
