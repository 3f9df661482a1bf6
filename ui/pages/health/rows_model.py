"""The rows a finding touches, one table row each, with what a fix would do to it.

A user must see every affected item, its label, the label Taxon suggests and how
sure it is, and which copy of a duplicate group stays, *before* ticking a fix.
Image rows show a thumbnail; thumbnails arrive from a worker thread and are set
with ``set_thumbnail``, so the table fills in without blocking the UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap

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
_REMOVED = QColor("#b3261e")
_KEPT = QColor("#1b7f3b")


def _isolate(text: str) -> str:
    """File names read left to right inside right-to-left text (Unicode first-strong isolate)."""
    return "\u2068" + text + "\u2069"


def fix_actions(finding: Any) -> dict[int, str]:
    """What the suggested fix does to each row: ``removed``, ``kept`` or ``relabel``."""
    fix = finding.fix
    if fix is None:
        return {}
    if fix.kind == "drop_rows":
        return {int(row): "removed" for row in fix.params.get("row_ids", ())}
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
        self._thumbnails: dict[str, QPixmap] = {}
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
        self._thumbnails = {}
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

    def image_paths(self, limit: int) -> list[str]:
        """The first ``limit`` distinct image paths, in table order, for thumbnails."""
        paths: list[str] = []
        for row in self.rows:
            path = row.get("item")
            if path and path not in paths:
                paths.append(path)
            if len(paths) >= limit:
                break
        return paths

    def set_thumbnail(self, path: str, pixmap: QPixmap) -> None:
        self._thumbnails[path] = pixmap
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
            return self._thumbnails.get(row.get("item", ""))
        return None

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
