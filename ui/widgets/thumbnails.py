"""Thumbnails for the pages' lists and tables, made off the UI thread from image files."""

from __future__ import annotations

import logging

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
