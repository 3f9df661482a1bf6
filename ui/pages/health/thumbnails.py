"""Thumbnails for the Health page's rows of an image finding, decoded off the UI thread.

The first rows get theirs when a finding is shown; the rows scrolled into view get theirs
in batches of at most ``MAX_THUMBNAILS``, one batch at a time, so a finding of thousands
of images never decodes more than the user looks at. The model keeps a bounded cache
(``FindingRowsModel.set_thumbnail``); broken files stay blank and are not tried again.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QTableView

from ui.pages.health.rows_model import FindingRowsModel
from ui.widgets.thumbnails import thumbnail_bytes
from ui.worker import JobWorker

THUMB = 56
#: Thumbnails decoded in one go: the first rows of a finding, then the rows scrolled into view.
MAX_THUMBNAILS = 60


class RowThumbnails(QObject):
    """Loads the thumbnails of ``view``'s rows into ``model`` while ``shows_images()``."""

    def __init__(
        self,
        view: QTableView,
        model: FindingRowsModel,
        shows_images: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view, self.model, self.shows_images = view, model, shows_images
        self.job: JobWorker | None = None
        view.verticalScrollBar().valueChanged.connect(self.load_visible)

    def load_first(self) -> None:
        """A finding was shown: its first rows' thumbnails."""
        last = self.model.rowCount() - 1
        self._load(self.model.paths_without_thumbnails(0, last, MAX_THUMBNAILS))

    def load_visible(self) -> None:
        """Thumbnails for the rows in view that have none yet (every row of a long finding
        gets one as it is scrolled to); one batch at a time."""
        if self.job is not None or self.model.rowCount() == 0 or not self.shows_images():
            return
        view = self.view
        first = view.rowAt(0)
        if first < 0:  # no row in view
            return
        last = view.rowAt(view.viewport().height() - 1)  # -1: the rows end above the bottom
        last = self.model.rowCount() - 1 if last < 0 else last + 1  # and the next row
        paths = self.model.paths_without_thumbnails(first, last, MAX_THUMBNAILS)
        if paths:
            self._load(paths)

    def _load(self, paths: list[str]) -> None:
        """Thumbnails of these rows' images, decoded off the UI thread (broken ones stay
        blank)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()

        def job(progress, cancel):
            thumbnails = []
            for done, path in enumerate(paths):
                cancel.raise_if_cancelled()
                progress(done, len(paths), "")
                thumbnails.append((path, thumbnail_bytes(path, THUMB)))
            return thumbnails

        worker = JobWorker(job, name="thumbnails")
        worker.finished.connect(lambda items: self._show(items, worker))
        self.job = worker
        worker.start()

    def _show(self, items, worker: JobWorker) -> None:
        worker.wait()
        if worker is not self.job:  # a newer selection replaced this one
            return
        self.job = None
        for path, data in items:
            pixmap = QPixmap()
            self.model.set_thumbnail(path, pixmap if data and pixmap.loadFromData(data) else None)
        self.view.resizeColumnToContents(self.model.column_keys().index("item"))
        self.load_visible()  # the user may have scrolled on meanwhile

    def shutdown(self) -> None:
        """Stop decoding; a batch already on its way is dropped (``_show`` only takes the
        current job's)."""
        job, self.job = self.job, None
        if job is not None:
            job.cancel()
            job.wait()
