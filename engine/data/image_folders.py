"""Image datasets from a folder with one sub-folder per class (see DESIGN.md, "Datasets").

The top-level sub-folder names the label; deeper folders belong to it. What does
not fit the layout (loose images, empty class folders, names that are not valid
text) is reported as a warning on the dataset rather than silently dropped.
"""

from __future__ import annotations

import os
import time
import unicodedata
from pathlib import Path

from engine.core.i18n import N_, Message, Nn_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.output_folder import display_path
from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.data.files import JUNK_NAMES, is_hidden, iter_image_files

MSG_NOT_FOUND = N_("{path} was not found.")
MSG_NOT_A_FOLDER = N_("{path} is not a folder.")
MSG_NO_IMAGES = N_(
    "No images were found in {path}. Put the images in one sub-folder per class, named after "
    "the class (for example cats/ and dogs/)."
)
MSG_ONLY_LOOSE_IMAGES = N_(
    "The images in {path} are not sorted into classes. Put them in one sub-folder per class, "
    "named after the class (for example cats/ and dogs/), or use a table with a label column."
)
MSG_LOOSE_IMAGES_IGNORED, MSG_LOOSE_IMAGES_IGNORED_PLURAL = Nn_(
    "{count} image directly inside the dataset folder was ignored: only images in class "
    "sub-folders are used.",
    "{count} images directly inside the dataset folder were ignored: only images in class "
    "sub-folders are used.",
)
MSG_EMPTY_CLASS = N_("The class folder {name} holds no images and was left out.")
MSG_UNDECODABLE_NAMES, MSG_UNDECODABLE_NAMES_PLURAL = Nn_(
    "{count} image was left out because its name is not valid text ({example}); rename it to "
    "use it.",
    "{count} images were left out because their names are not valid text (for example "
    "{example}); rename them to use them.",
)
MSG_SCANNING = N_("Looking for images…")


def load_image_folder(
    path: str | os.PathLike[str],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Dataset:
    """Read a folder with one sub-folder per class; the top-level sub-folder names the label.

    Deeper folders belong to their top-level class (``cats/indoor/1.jpg`` is a
    cat). Hidden and OS junk entries are skipped and symlink loops end, as in
    ``iter_image_files``. Images lying directly in the root are ignored with a
    warning, or are an error when there is no class folder at all.
    """
    root = Path(os.path.abspath(path))
    if not root.exists():
        raise UserError(MSG_NOT_FOUND, path=str(root))
    if not root.is_dir():
        raise UserError(MSG_NOT_A_FOLDER, path=str(root))
    message = _(MSG_SCANNING)
    items: list[str] = []
    labels: list[str] = []
    loose, reported = 0, 0.0
    undecodable: list[str] = []
    for done, file in enumerate(iter_image_files([root], cancel), start=1):
        if time.monotonic() - reported >= 0.2:  # the job contract asks for ~0.5 s
            reported = time.monotonic()
            progress(done, None, message)
        if not _is_text(str(file)):
            undecodable.append(display_path(file.relative_to(root)))
            continue
        parts = file.relative_to(root).parts
        if len(parts) == 1:
            loose += 1
            continue
        items.append(str(file))
        labels.append(unicodedata.normalize("NFC", parts[0]))
    if not items:
        raise UserError(MSG_ONLY_LOOSE_IMAGES if loose else MSG_NO_IMAGES, path=str(root))
    progress(len(items) + loose, len(items) + loose, message)

    dataset = Dataset(
        task="image",
        frame=make_frame(items, labels),
        source=DatasetSource(kind="folder", path=str(root)),
        name=root.name,
    )
    if undecodable:
        dataset.warnings.append(
            Message(
                MSG_UNDECODABLE_NAMES,
                {"count": len(undecodable), "example": undecodable[0]},
                MSG_UNDECODABLE_NAMES_PLURAL,
                len(undecodable),
            )
        )
    if loose:
        dataset.warnings.append(
            Message(
                MSG_LOOSE_IMAGES_IGNORED, {"count": loose}, MSG_LOOSE_IMAGES_IGNORED_PLURAL, loose
            )
        )
    found = set(labels)
    for name in _class_folders(root):
        if unicodedata.normalize("NFC", name) not in found:
            dataset.warnings.append(Message(MSG_EMPTY_CLASS, {"name": name}))
    return dataset


def _is_text(name: str) -> bool:
    """False for a name holding bytes that are not UTF-8 (Python keeps them as surrogates,
    which no table, report or data frame can store)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _class_folders(root: Path) -> list[str]:
    """Visible top-level sub-folders, the candidates for classes."""
    try:
        with os.scandir(root) as scan:
            entries = sorted(scan, key=lambda e: e.name.casefold())
    except OSError:
        return []
    folders = []
    for entry in entries:
        if is_hidden(entry) or entry.name.casefold() in JUNK_NAMES:
            continue
        try:
            if entry.is_dir():
                folders.append(entry.name)
        except OSError:
            continue
    return folders
