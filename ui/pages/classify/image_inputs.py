"""Where the image view's inputs come from, apart from drops: the file dialogs, pasted
image data (saved to the cache first, so it has a path like any file), and what the
status line says while inputs wait for the model."""

from __future__ import annotations

import os
import time

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.core import i18n
from engine.core.i18n import _, ngettext
from engine.core.paths import user_cache_dir

IMAGE_PATTERNS = "*.jpg *.jpeg *.png *.webp *.gif *.bmp *.tif *.tiff"


def ask_for_images(parent: QWidget) -> list[str]:
    """The images the user picks in the open dialog (none when cancelled)."""
    files, _selected = QFileDialog.getOpenFileNames(
        parent,
        _("Open images"),
        "",
        _("Images") + f" ({IMAGE_PATTERNS});;" + _("All files") + " (*)",
    )
    return files


def ask_for_folder(parent: QWidget) -> str:
    """The folder the user picks ("" when cancelled)."""
    return QFileDialog.getExistingDirectory(parent, _("Open folder"))


def save_pasted_image(image: QImage) -> str | None:
    """Save pasted or dragged image data as a PNG in the cache; its path, or None when it
    could not be written. Names carry the time, with a counter when two come in a second."""
    folder = user_cache_dir() / "pasted"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / time.strftime("pasted-%Y%m%d-%H%M%S.png")
    suffix = 1
    while path.exists():
        path = folder / time.strftime(f"pasted-%Y%m%d-%H%M%S-{suffix}.png")
        suffix += 1
    return str(path) if image.save(str(path), "PNG") else None


def waiting_text(pending: list[str]) -> str:
    """What waits for the model, honest about folders (whose images are not counted yet)."""
    count = len(pending)
    if any(os.path.isdir(path) for path in pending):
        return ngettext(
            "{n} file or folder waits for the model to load.",
            "{n} files and folders wait for the model to load.",
            count,
        ).format(n=i18n.format_number(count))
    return ngettext(
        "{n} image waits for the model to load.",
        "{n} images wait for the model to load.",
        count,
    ).format(n=i18n.format_number(count))
