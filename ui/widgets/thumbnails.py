"""Thumbnails for the pages' lists and tables, made off the UI thread from image files."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


def thumbnail_bytes(path: str, size: int, enlarge_tiny: bool = False) -> bytes | None:
    """A JPEG of the image at ``path`` fitting ``size``, or None when it cannot be read.

    ``enlarge_tiny``: images under half of ``size`` (digit scans, icons) are scaled up to
    ``size`` so they can be seen. Runs on a worker: decoding is never done on the UI thread.
    """
    from engine.data.images import load_rgb, make_thumbnail, thumbnail_jpeg

    try:
        image = make_thumbnail(load_rgb(path, target_min_side=size), size)
    except Exception:  # noqa: BLE001 - a file that vanished or broke: no thumbnail, no dialog
        log.debug("No thumbnail for %s", path, exc_info=True)
        return None
    if enlarge_tiny and max(image.size) < size // 2:
        scale = size / max(image.size)
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        )
    return thumbnail_jpeg(image, size)


class _Render(QRunnable):
    def __init__(self, loader: ThumbnailLoader, path: str) -> None:
        super().__init__()
        self.loader, self.path = loader, path

    def run(self) -> None:
        size = self.loader.size
        if size is None:  # the classifier's own size, looked up here: numpy loads with it
            from engine.data.images import THUMBNAIL_SIZE as size
        data = thumbnail_bytes(self.path, size, self.loader.enlarge_tiny)
        self.loader.loaded.emit(self.path, data or b"")


class ThumbnailLoader(QObject):
    """Decodes thumbnails of ``size`` pixels (None: the size classification makes,
    ``engine.data.images.THUMBNAIL_SIZE``) on one background thread; ``loaded(path, jpeg)``
    comes back on the UI thread (a queued signal), ``b""`` for a file that cannot be read.
    Newest requests first: what was just scrolled to. Used by the Classify and Data tables,
    which keep a bounded cache and ask again for rows scrolled back into view."""

    loaded = Signal(str, bytes)

    def __init__(
        self, size: int | None = None, enlarge_tiny: bool = False, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.size, self.enlarge_tiny = size, enlarge_tiny
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._priority = 0

    def request(self, path: str) -> None:
        self._priority += 1
        self.pool.start(_Render(self, path), self._priority)

    def forget_queued(self) -> None:
        """Drop the requests not started yet (the table shows other rows now)."""
        self.pool.clear()

    def stop(self) -> None:
        """Drop queued requests and wait for the one running (the page is closing)."""
        self.pool.clear()
        self.pool.waitForDone(5000)
