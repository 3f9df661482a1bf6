"""Qt models over classification results: one row per input, sortable and filterable.

Built for 100,000 results. Rows hold no image: thumbnails (a few KB of JPEG
each) live in a bounded LRU cache, filled from the results as they arrive, and
a row scrolled back into view after its thumbnail was evicted gets it decoded
again from the file on a background thread (``ThumbnailLoader``). Pixmaps are
made when a row is painted, in a smaller cache. The model is virtual (no widget
per row), and sorting happens here, in Python's C sort over a permutation of the
rows, instead of in ``QSortFilterProxyModel``, whose per-comparison calls into
Python take seconds at this size; new rows go straight to their sorted place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QPixmap

from engine.core import i18n
from engine.core.i18n import N_, Message, _
from ui.widgets.rows_model import ROW_ROLE as ROW_ROLE  # the views' row role, read here
from ui.widgets.rows_model import SORT_ROLE, RowsTableModel

if TYPE_CHECKING:
    from engine.models.contract import ItemResult

COLUMN_IMAGE, COLUMN_FILE, COLUMN_LABEL, COLUMN_CONFIDENCE = range(4)
HEADERS = (N_("Image"), N_("File"), N_("Label"), N_("Confidence"))
_PIXMAP_CACHE = 600
#: The thumbnail column's picture size, in pixels.
THUMB = 64
#: A flush of up to this many rows puts each in its sorted place; more are added, then
#: sorted at once (each placed row costs the proxy an update of its whole mapping).
_INSERT_ONE_BY_ONE = 64
#: Thumbnails (JPEG bytes) kept in memory; older ones are decoded again when needed.
THUMBNAIL_CACHE = 2000
UNSURE_COLOR = QColor("#b35900")
ERROR_COLOR = QColor("#b3261e")


@dataclass(eq=False, slots=True)
class ResultRow:
    """One result, small (no image: see ``ResultsModel.thumbnail``); compared by identity."""

    path: str
    label: str | None
    score: float | None
    predictions: list[tuple[str, float]] = field(default_factory=list)
    error_message: Message | None = None
    name: str = ""
    width: int | None = None  # pixels, when the image was read
    height: int | None = None

    def __post_init__(self) -> None:
        self.name = self.name or Path(self.path).name

    @classmethod
    def from_result(cls, result: ItemResult) -> ResultRow:
        predictions = [(p.label, float(p.score)) for p in result.predictions]
        best = predictions[0] if predictions else (None, None)
        message = result.error_message or (Message(result.error) if result.error else None)
        return cls(
            result.input,
            best[0],
            best[1],
            predictions,
            message,
            width=result.width,
            height=result.height,
        )

    @property
    def error(self) -> str | None:
        """Translated now, in whatever language the UI shows."""
        return self.error_message.text() if self.error_message else None

    def to_export(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "score": self.score,
            "top": [{"label": label, "score": score} for label, score in self.predictions],
            "error": self.error,
        }


class ResultsModel(RowsTableModel):
    """The results in arrival order (``rows``) shown in sort order (``_order``)."""

    HEADERS = HEADERS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self._order: list[int] = []  # view row -> index in ``rows``
        self._sort: tuple[int, bool] | None = None  # (column, descending)
        self.threshold = 0.25
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._icons: OrderedDict[str, QPixmap] = OrderedDict()  # the pixmaps fitted to THUMB
        self._thumbnails: OrderedDict[str, bytes] = OrderedDict()
        self._requested: set[str] = set()
        self.loader: Any = None  # a ThumbnailLoader (widgets.py), set by the page
        #: How the model's labels read in the UI language (the built-in model's ImageNet
        #: names are translated; a trained model's are shown as they are). Set by the page.
        self.display_label: Callable[[str], str] = str

    # -- content ----------------------------------------------------------
    def add_results(self, results: list[ItemResult]) -> None:
        if not results:
            return
        new_rows = [ResultRow.from_result(result) for result in results]
        for result in results:
            if result.thumbnail_jpeg:
                self._keep_thumbnail(result.input, result.thumbnail_jpeg)
        first = len(self.rows)
        self.rows.extend(new_rows)
        if self._sort is None or len(new_rows) > _INSERT_ONE_BY_ONE:
            self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
            self._order.extend(range(first, len(self.rows)))
            self.endInsertRows()
            if self._sort is not None:  # a big batch: one re-sort beats thousands of moves
                column, descending = self._sort
                self.sort(
                    column,
                    Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder,
                )
            return
        key = _sort_key(self._sort[0])
        for position, row in enumerate(new_rows, first):
            place = self._insert_position(key, key(row), self._sort[1])
            self.beginInsertRows(QModelIndex(), place, place)
            self._order.insert(place, position)
            self.endInsertRows()

    def _insert_position(self, key: Callable, wanted, descending: bool) -> int:
        """Where a row with sort key ``wanted`` goes: after its equals (a stable sort)."""
        low, high = 0, len(self._order)
        while low < high:
            middle = (low + high) // 2
            here = key(self.rows[self._order[middle]])
            if (wanted > here) if descending else (wanted < here):
                high = middle
            else:
                low = middle + 1
        return low

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort the view (C-speed for 100,000 rows), keeping the selection on its rows."""
        descending = order == Qt.SortOrder.DescendingOrder
        self._sort = (column, descending)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [self._order[index.row()] for index in persistent]
        key = _sort_key(column)
        rows = self.rows
        self._order = sorted(range(len(rows)), key=lambda i: key(rows[i]), reverse=descending)
        if persistent:
            place = {row: view for view, row in enumerate(self._order)}
            self.changePersistentIndexList(
                persistent,
                [
                    self.index(place[row], index.column())
                    for row, index in zip(held, persistent, strict=True)
                ],
            )
        self.layoutChanged.emit()

    def rows_in_view_order(self) -> list[ResultRow]:
        """All rows in the on-screen sort order (what an export writes)."""
        return [self.rows[index] for index in self._order]

    def clear(self) -> None:
        self.beginResetModel()
        self.rows.clear()
        self._order.clear()
        self._pixmaps.clear()
        self._icons.clear()
        self._thumbnails.clear()
        self._requested.clear()
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if self.rows:
            self.dataChanged.emit(
                self.index(0, COLUMN_LABEL), self.index(len(self.rows) - 1, COLUMN_CONFIDENCE)
            )

    def is_unsure(self, row: ResultRow) -> bool:
        return row.error_message is None and row.score is not None and row.score < self.threshold

    # -- thumbnails ----------------------------------------------------------
    def _keep_thumbnail(self, path: str, data: bytes) -> None:
        self._thumbnails[path] = data
        self._thumbnails.move_to_end(path)
        while len(self._thumbnails) > THUMBNAIL_CACHE:
            self._thumbnails.popitem(last=False)

    def thumbnail_loaded(self, path: str, data: bytes) -> None:
        """A thumbnail decoded again in the background: cache it and repaint its rows."""
        self._requested.discard(path)
        if not data:
            return
        self._keep_thumbnail(path, data)
        for view, index in enumerate(self._order):  # C-speed scan; only visible rows ask
            if self.rows[index].path == path:
                cell = self.index(view, COLUMN_IMAGE)
                self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])

    def pixmap(self, position: int) -> QPixmap | None:
        """The thumbnail of the row at view ``position``; None while it is being decoded."""
        return self.pixmap_for(self.row_at(position))

    def pixmap_for(self, row: ResultRow) -> QPixmap | None:
        if row.error_message is not None:
            return None
        path = row.path
        if path in self._pixmaps:
            self._pixmaps.move_to_end(path)
            return self._pixmaps[path]
        data = self._thumbnails.get(path)
        if data is None:
            if self.loader is not None and path not in self._requested:
                self._requested.add(path)
                self.loader.request(path)
            return None
        self._thumbnails.move_to_end(path)
        pixmap = QPixmap()
        pixmap.loadFromData(data)
        self._pixmaps[path] = pixmap
        if len(self._pixmaps) > _PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pixmap

    def cached_thumbnails(self) -> int:
        """How many thumbnails are held (bounded by ``THUMBNAIL_CACHE``)."""
        return len(self._thumbnails)

    # -- Qt model interface ----------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._order)

    def row_at(self, position: int) -> ResultRow:
        """The row shown at view position ``position``."""
        return self.rows[self._order[position]]

    def sort_value(self, row: ResultRow, column: int) -> Any:
        return _sort_key(column)(row)

    def decoration(self, row: ResultRow, column: int) -> QPixmap | None:
        """The thumbnail fitted into ``THUMB`` pixels: Qt draws a pixmap decoration at its
        own size, so the 128-pixel thumbnail was cut by the cell's edge."""
        if column != COLUMN_IMAGE:
            return None
        icon = self._icons.get(row.path)
        if icon is not None:
            self._icons.move_to_end(row.path)
            return icon
        pixmap = self.pixmap_for(row)
        if pixmap is None or pixmap.isNull():
            return pixmap
        icon = pixmap.scaled(
            THUMB,
            THUMB,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self._icons[row.path] = icon
        if len(self._icons) > _PIXMAP_CACHE:
            self._icons.popitem(last=False)
        return icon

    def tooltip(self, row: ResultRow, column: int) -> str | None:
        if column == COLUMN_FILE:
            return row.path
        if row.error:
            return row.error
        if column == COLUMN_LABEL and self.display_label(row.label) != row.label:
            return row.label  # the English name, which exports and programs use
        if self.is_unsure(row):
            return _("Confidence is below the unsure threshold: check this one yourself.")
        return None

    def foreground(self, row: ResultRow, column: int) -> QBrush | None:
        if column == COLUMN_LABEL and row.error:
            return QBrush(ERROR_COLOR)
        if column == COLUMN_LABEL and self.is_unsure(row):
            return QBrush(UNSURE_COLOR)
        return None

    def display(self, row: ResultRow, column: int) -> str | None:
        if column == COLUMN_FILE:
            # Isolate the file name so Latin names read correctly inside Arabic text.
            return "\u2068" + row.name + "\u2069"
        if column == COLUMN_LABEL:
            if row.error:
                return row.error
            label = self.display_label(row.label)
            if self.is_unsure(row):
                return _("{label} (unsure)").format(label=label)
            return label
        if column == COLUMN_CONFIDENCE and row.score is not None:
            return i18n.format_percent(row.score, 1)
        return None


def _sort_key(column: int) -> Callable[[ResultRow], Any]:
    """The value a column sorts by: the score, or case-folded label or file name."""
    if column == COLUMN_CONFIDENCE:
        return lambda row: -1.0 if row.score is None else row.score
    if column == COLUMN_LABEL:
        return lambda row: (row.label or "\uffff").casefold()
    return lambda row: row.name.casefold()


SHOW_ALL, SHOW_UNSURE, SHOW_ERRORS = "all", "unsure", "errors"
SHOW_CHOICES = (
    (SHOW_ALL, N_("All results")),
    (SHOW_UNSURE, N_("Unsure only")),
    (SHOW_ERRORS, N_("Errors only")),
)


class ResultsFilter(QSortFilterProxyModel):
    """Filters by label text and by kind (all, unsure, errors); the source model sorts."""

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

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sorted by the source model (fast); this proxy keeps the source's order."""
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        model: ResultsModel = self.sourceModel()
        row = model.row_at(source_row)
        if self._show == SHOW_ERRORS and row.error_message is None:
            return False
        if self._show == SHOW_UNSURE and not model.is_unsure(row):
            return False
        if self._text:
            labels = [label for label, _score in row.predictions[:1]]
            labels += [model.display_label(label) for label in labels]
            return (
                any(self._text in label.casefold() for label in labels)
                or self._text in row.name.casefold()
            )
        return True
