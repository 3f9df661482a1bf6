"""The Data page's table: the dataset's rows, with a small thumbnail beside each image.

Built for a million rows, like the Classify page's results: only the rows Qt paints ask
for a thumbnail, one background thread decodes them (newest request first: what was
just scrolled to), and at most ``THUMBNAIL_CACHE`` small pixmaps are kept; a row
scrolled back into view after its thumbnail was dropped gets it decoded again. A file
that cannot be read gets no thumbnail (the Health page explains why) and is not tried
again while it is remembered.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from ui.widgets.frame_model import FrameModel
from ui.widgets.thumbnails import ThumbnailLoader

#: Thumbnail side in the Data page's table (small: the table is for reading names and labels).
THUMB = 40
#: Thumbnails kept in memory (a few KB each); older ones are decoded again when needed.
THUMBNAIL_CACHE = 1000


class DataTableModel(FrameModel):
    """``FrameModel`` whose first column shows a thumbnail for image datasets."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent, localized_numbers=True)  # line numbers are Taxon's
        self.loader = ThumbnailLoader(THUMB, enlarge_tiny=True, parent=self)
        self.loader.loaded.connect(self.thumbnail_loaded)
        self._images = False
        #: path -> pixmap, or None for a file that could not be read; least recently shown first.
        self._thumbnails: OrderedDict[str, QPixmap | None] = OrderedDict()
        #: path -> the rows that asked for it while it is being decoded.
        self._waiting: dict[str, set[int]] = {}

    def set_frame(self, frame, columns: list | None = None, images: bool = False) -> None:  # type: ignore[override]
        """``images``: the first column holds image paths, shown with a thumbnail."""
        self._images = images and frame is not None
        # Rows renumber: queued requests may be for rows no longer there, and each row
        # still in view asks again when the table repaints after the reset.
        self.loader.forget_queued()
        self._waiting.clear()
        super().set_frame(frame, columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        image_cell = self._images and index.isValid() and index.column() == 0
        if role == Qt.ItemDataRole.DecorationRole:
            return (
                self._thumbnail(self._arrays[0][index.row()], index.row()) if image_cell else None
            )
        text = super().data(index, role)
        if image_cell and role == Qt.ItemDataRole.DisplayRole and text:
            return "\u2066" + text + "\u2069"  # a path reads left to right in RTL text too
        return text

    def _thumbnail(self, path, row: int) -> QPixmap | None:
        if not path:
            return None
        path = str(path)
        if path in self._thumbnails:
            self._thumbnails.move_to_end(path)
            return self._thumbnails[path]
        if path in self._waiting:
            self._waiting[path].add(row)
        else:
            self._waiting[path] = {row}
            self.loader.request(path)
        return None

    def thumbnail_loaded(self, path: str, data: bytes) -> None:
        """A thumbnail decoded in the background: keep it and repaint the rows showing it."""
        rows = self._waiting.pop(path, set())
        pixmap = QPixmap()
        self._thumbnails[path] = pixmap if data and pixmap.loadFromData(data) else None
        self._thumbnails.move_to_end(path)
        while len(self._thumbnails) > THUMBNAIL_CACHE:
            self._thumbnails.popitem(last=False)
        count = self.rowCount()
        for row in rows:
            if row < count:
                cell = self.index(row, 0)
                self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])

    def cached_thumbnails(self) -> int:
        """How many thumbnails are held (at most ``THUMBNAIL_CACHE``)."""
        return len(self._thumbnails)
