"""The rows a finding touches, one table row each, with what a fix would do to it.

A user must see every affected item, its label, the label Taxon suggests and how
sure it is, and which copy of a duplicate group stays, *before* ticking a fix.
Image rows show a thumbnail; thumbnails arrive from a worker thread and are set
with ``set_thumbnail``, so the table fills in without blocking the UI. At most
``THUMBNAIL_CACHE`` are kept: the page asks again for the rows scrolled into view.
Rows of a group sit together, every second group on a shaded background.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from engine.core import i18n
from engine.core.i18n import _
from ui.widgets.rows_model import RowsTableModel

#: Columns before and after a finding's own extra columns (its preview's, such as
#: "reason" or "language"); a column shows only when some row has a value for it.
LEADING = ("group", "item", "label")
TRAILING = ("suggested_label", "confidence", "action")
#: Preview keys that are not worth a column of their own here.
#: ("given_confidence" repeats what "suggested_label" and its confidence already say, and
#: the table must fit beside the findings list.)
_HIDDEN = frozenset(
    {"row", "row_id", "source_line", "group", "kept", "suggested", "given_confidence"}
)
#: Columns shown even when empty.
_ALWAYS = ("item", "label")
_MAX_CELL = 300
#: Thumbnails kept per finding (a few KB each); rows scrolled back to are decoded again.
THUMBNAIL_CACHE = 600
_REMOVED = QColor("#b3261e")
_KEPT = QColor("#1b7f3b")


def _isolate(text: str) -> str:
    """File names read left to right inside right-to-left text (Unicode first-strong isolate)."""
    return "\u2068" + text + "\u2069"


def _group_shade() -> QColor:
    """The shade of every second group: the palette's base tinted a little towards its
    highlight, so it shows in light and dark themes alike."""
    palette = QApplication.palette()
    base = palette.color(QPalette.ColorRole.Base)
    tint = palette.color(QPalette.ColorRole.Highlight)
    return QColor.fromRgbF(
        *(0.88 * a + 0.12 * b for a, b in zip(base.getRgbF()[:3], tint.getRgbF()[:3], strict=True))
    )


def fix_actions(finding: Any) -> dict[int, str]:
    """What the suggested fix does to each row: ``removed``, ``kept`` or ``relabel``.

    Where the fix removes some rows of a group (contradicting labels), the group's other
    rows are ``kept``, so each row of a group says what happens to it."""
    fix = finding.fix
    if fix is None:
        return {}
    if fix.kind == "drop_rows":
        actions = {int(row): "removed" for row in fix.params.get("row_ids", ())}
        for group in finding.groups:
            for row in group:
                actions.setdefault(int(row), "kept")
        return actions
    if fix.kind == "relabel":
        return {int(row): "relabel" for row in fix.params.get("labels", {})}
    return {}


class FindingRowsModel(RowsTableModel):
    """Rows from ``engine.cleaning.findings.affected_rows`` plus the fix's effect.

    Columns are keys of the row dicts, chosen per finding (``column_keys``).
    """

    rows: list[dict[str, Any]]

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._task = "image"
        #: path -> pixmap, or None for a file that could not be read; least recently shown first.
        self._thumbnails: OrderedDict[str, QPixmap | None] = OrderedDict()
        self.headers: dict[str, str] = {}

    def set_rows(
        self,
        rows: list[dict[str, Any]],
        task: str,  # type: ignore[override]
        actions: dict[int, str],
        extras: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """``extras``: a finding's preview columns by row id (shown for the rows that have them)."""
        self.beginResetModel()
        self._task = task
        self._thumbnails = OrderedDict()
        entries: list[dict[str, Any]] = []
        extra_keys: list[str] = []
        for row in rows:
            entry = dict(row)
            for key, value in (extras or {}).get(entry["row"], {}).items():
                if key not in _HIDDEN and key not in entry:
                    entry[key] = value
                    if key not in extra_keys:
                        extra_keys.append(key)
            if "kept" in entry:
                entry["action"] = "kept" if entry["kept"] else "removed"
            elif entry["row"] in actions:
                entry["action"] = actions[entry["row"]]
            entries.append(entry)
        # A group's rows together, the one that stays first.
        entries.sort(key=lambda r: (r.get("group", -1), not r.get("kept", False)))
        wanted = [*LEADING, *extra_keys, *TRAILING]
        self._columns = [
            column
            for column in dict.fromkeys(wanted)
            if column in _ALWAYS or any(r.get(column) is not None for r in entries)
        ]
        self.rows = entries
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([], self._task, {})

    def column_keys(self) -> list[str]:
        return list(self._columns)

    def paths_without_thumbnails(self, first: int, last: int, limit: int) -> list[str]:
        """Up to ``limit`` distinct image paths of rows ``first``..``last`` (those in view)
        that have not been tried yet, in table order."""
        paths: list[str] = []
        for row in self.rows[max(first, 0) : last + 1]:
            path = row.get("item")
            if path and path not in self._thumbnails and path not in paths:
                paths.append(path)
                if len(paths) >= limit:
                    break
        return paths

    def set_thumbnail(self, path: str, pixmap: QPixmap | None) -> None:
        """``pixmap``: None for a file that could not be read (it stays blank, not retried)."""
        self._thumbnails[path] = pixmap
        self._thumbnails.move_to_end(path)
        while len(self._thumbnails) > THUMBNAIL_CACHE:
            self._thumbnails.popitem(last=False)
        for number, row in enumerate(self.rows):
            if row.get("item") == path:
                index = self.index(number, 0)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    # -- cells ---------------------------------------------------------------------
    def column_count(self) -> int:
        return len(self._columns)

    def tooltip(self, row: dict[str, Any], column: int) -> Any:
        return row.get("item") if self._columns[column] == "item" else None

    def decoration(self, row: dict[str, Any], column: int) -> QPixmap | None:
        if self._columns[column] == "item" and self._task == "image":
            path = row.get("item", "")
            if path in self._thumbnails:
                self._thumbnails.move_to_end(path)
                return self._thumbnails[path]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.BackgroundRole:  # every second group shaded
            group = self.rows[index.row()].get("group") if index.isValid() else None
            return _group_shade() if group is not None and group % 2 == 1 else None
        return super().data(index, role)

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        if self._columns[column] == "action":
            return _KEPT if row.get("action") == "kept" else _REMOVED
        return None

    def display(self, row: dict[str, Any], column: int) -> str:
        return self._text(row, self._columns[column])

    def _text(self, row: dict[str, Any], column: str) -> str:
        value = row.get(column)
        if value is None:
            return ""
        if column == "group":
            return i18n.format_number(int(value) + 1)
        if column == "item":
            text = str(value)
            if self._task == "image":
                return _isolate(Path(text).name)
            return text if len(text) <= _MAX_CELL else text[:_MAX_CELL] + "…"
        if column in ("confidence", "given_confidence"):
            return i18n.format_percent(float(value), 0)
        if isinstance(value, float):
            return i18n.format_number(value, 2)
        if isinstance(value, int):
            return i18n.format_number(value)
        if column == "action":
            return self._action_text(row)
        return str(value)

    @staticmethod
    def _action_text(row: dict[str, Any]) -> str:
        action = row.get("action")
        if action == "kept":
            return _("Stays")
        if action == "removed":
            return _("Removed")
        if action == "relabel":
            return _("Label becomes “{label}”").format(label=row.get("suggested_label", ""))
        return ""

    def title(self, section: int) -> str:
        column = self._columns[section]
        return self.headers.get(column, column)

    def row_title(self, section: int) -> str:
        return i18n.format_number(section + 1)

    def retranslate(self, headers: dict[str, str] | None = None) -> None:  # type: ignore[override]
        """``headers``: column key → translated title (the page's ``preview_headers``)."""
        if headers is not None:
            self.headers = headers
        super().retranslate()
