"""The Models page's table: one row per library entry, formatted in the UI language.

Numbers and dates are kept as values (the sort role) and formatted only for
display, so a language switch or a sort never parses text back. A model whose
folder vanished stays listed, greyed, with "Missing" before where it was.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from engine.core import i18n
from engine.core.i18n import N_, _
from engine.models.library import LibraryEntry
from ui.widgets.rows_model import RowsTableModel, SortProxy

PATH_ROLE = Qt.ItemDataRole.UserRole + 3
HEADERS = (
    N_("Name"),
    N_("Task"),
    N_("Classes"),
    N_("Accuracy"),
    N_("Created"),
    N_("Size"),
    N_("Location"),
)
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
            n=i18n.format_number(rest)
        )
    return shown


class Listed(NamedTuple):
    entry: LibraryEntry
    missing: bool  # checked once per refresh, not on every paint


class LibraryTableModel(RowsTableModel):
    HEADERS = HEADERS
    TRAILING_COLUMNS = frozenset({CLASSES, ACCURACY, SIZE})
    rows: list[Listed]

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.set_rows([Listed(entry, entry.missing) for entry in entries])

    @property
    def entries(self) -> list[LibraryEntry]:
        return [row.entry for row in self.rows]

    @property
    def missing(self) -> list[bool]:
        return [row.missing for row in self.rows]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == PATH_ROLE and index.isValid():
            return self.rows[index.row()].entry.path
        return super().data(index, role)

    def tooltip(self, row: Listed, column: int) -> str | None:
        if column == CLASSES:
            return classes_tooltip(row.entry)
        if column in (NAME, LOCATION):
            return location_text(row.entry, row.missing)
        return None

    def foreground(self, row: Listed, column: int) -> QBrush | None:
        return QBrush(MISSING) if row.missing else None

    def display(self, row: Listed, column: int) -> str:
        entry, missing = row
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

    def sort_value(self, row: Listed, column: int):
        entry = row.entry
        values = (
            entry.name.casefold(),
            entry.task,
            entry.classes,
            -1.0 if entry.accuracy is None else entry.accuracy,
            entry.created,
            entry.size,
            entry.path.casefold(),
        )
        return values[column]


class LibrarySortProxy(SortProxy):
    LOCALE_AWARE = False
