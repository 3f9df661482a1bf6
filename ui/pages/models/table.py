"""The Models page's table: one row per library entry, formatted in the UI language.

Numbers and dates are kept as values (the sort role) and formatted only for
display, so a language switch or a sort never parses text back. A model whose
folder vanished stays listed, greyed, with "Missing" before where it was.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from engine.core import i18n
from engine.core.i18n import N_, _
from engine.models.library import LibraryEntry

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
HEADERS = (N_("Name"), N_("Task"), N_("Classes"), N_("Accuracy"), N_("Created"), N_("Size"),
           N_("Location"))
NAME, TASK, CLASSES, ACCURACY, CREATED, SIZE, LOCATION = range(len(HEADERS))
MISSING = QColor("#8a8f98")
#: Class names listed in a row's tooltip before "… and N more".
TOOLTIP_LABELS = 12


def task_text(task: str) -> str:
    return _("Images") if task == "image" else _("Texts") if task == "text" else task


def location_text(entry: LibraryEntry, missing: bool) -> str:
    where = "\u2068" + entry.path + "\u2069"
    return _("Missing: {path}").format(path=where) if missing else where


def classes_tooltip(entry: LibraryEntry) -> str:
    shown = ", ".join(entry.labels[:TOOLTIP_LABELS])
    rest = entry.classes - min(len(entry.labels), TOOLTIP_LABELS)
    if rest > 0:
        shown += " " + i18n.ngettext("… and {n} more", "… and {n} more", rest).format(
            n=i18n.format_number(rest))
    return shown


class LibraryTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entries: list[LibraryEntry] = []
        self.missing: list[bool] = []  # checked once per refresh, not on every paint

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.missing = [entry.missing for entry in self.entries]
        self.endResetModel()

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HEADERS) - 1)
        if self.entries:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.entries) - 1, len(HEADERS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(HEADERS[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry, missing, column = self.entries[index.row()], self.missing[index.row()], index.column()
        if role == PATH_ROLE:
            return entry.path
        if role == SORT_ROLE:
            return self._sort_value(entry, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, missing, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == CLASSES:
                return classes_tooltip(entry)
            if column in (NAME, LOCATION):
                return location_text(entry, missing)
        if role == Qt.ItemDataRole.ForegroundRole and missing:
            return QBrush(MISSING)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (CLASSES, ACCURACY, SIZE):
            return int(Qt.AlignmentFlag.AlignTrailing | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(entry: LibraryEntry, missing: bool, column: int) -> str:
        if column == NAME:
            return "\u2068" + entry.name + "\u2069"  # "Topics (English)" stays whole in RTL
        if column == TASK:
            return task_text(entry.task)
        if column == CLASSES:
            return i18n.format_number(entry.classes)
        if column == ACCURACY:
            return "—" if entry.accuracy is None else i18n.format_percent(entry.accuracy, 1)
        if column == CREATED:
            moment = entry.created_at
            return "—" if moment is None else i18n.format_datetime(moment)
        if column == SIZE:
            return "—" if missing else i18n.format_bytes(entry.size)
        return location_text(entry, missing)

    @staticmethod
    def _sort_value(entry: LibraryEntry, column: int):
        values = (entry.name.casefold(), entry.task, entry.classes,
                  -1.0 if entry.accuracy is None else entry.accuracy, entry.created, entry.size,
                  entry.path.casefold())
        return values[column]


class LibrarySortProxy(QSortFilterProxyModel):
    def __init__(self, source: LibraryTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
