"""The model library: every model the user trained or opened, remembered across restarts.

Why it exists: a model trained without a project, or opened from a
``.taxon-model`` file, used to be known only to the window that made it; after
a restart it was gone from every chooser. The library is a small JSON index in
the user data folder (``models.json``), keyed by the package's absolute path.

Why it is careful:

- The index is written atomically (``write_atomic``) and every change is a
  read-modify-write under an exclusive lock, so two Taxon processes (the window
  and a ``train`` in a terminal) never lose each other's entries.
- A damaged index is moved aside (``models.json.damaged-<time>``) and the
  library starts empty: a bad file never stops the app.
- A package whose folder vanished stays listed as *missing* (the user may have
  moved a USB disk away); only the user removes it.
- A display name given by "Rename" lives here, not in the package: packages are
  checksummed, and rewriting a manifest would make a shared copy look damaged.
- Deleting from disk moves the package to the OS trash (``send2trash``); a
  permanent delete is allowed only for a package Taxon trained itself, and only
  for something that still is a Taxon model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.atomic import write_atomic
from engine.core.file_lock import exclusive_lock
from engine.core.i18n import N_, format_number
from engine.core.jobs import UserError
from engine.core.versioned_json import JsonFormat, read_versioned_json
from engine.models.library_entry import (
    ARCHIVE,
    FOLDER,
    LABELS_KEPT,
    MAX_NAME,
    OPENED,
    TRAINED,
    LibraryEntry,
    entry_from_manifest,
    folder_size,
    manifest_of,
    size_or_zero,
)

if TYPE_CHECKING:
    from engine.models.package import ModelPackage

log = logging.getLogger(__name__)

__all__ = [
    "INDEX_NAME",
    "LABELS_KEPT",
    "OPENED",
    "TRAINED",
    "LibraryEntry",
    "ModelLibrary",
    "can_trash",
    "register",
]

INDEX_NAME = "models.json"
FORMAT = "taxon-model-library"
VERSION = 1
#: An index from a newer Taxon is still read: entries skip the keys they do not know.
_INDEX_FORMAT = JsonFormat(FORMAT, newest=VERSION)

MSG_UNKNOWN = N_("“{path}” is not in the list of models.")
MSG_NOT_A_MODEL = N_("“{path}” is no longer a Taxon model, so Taxon will not delete it.")
MSG_CANNOT_TRASH = N_("Taxon could not move “{path}” to the trash.")
MSG_NOT_OURS = N_(
    "Taxon deletes for good only models it trained itself. “{path}” was left "
    "where it is; delete it yourself if you no longer need it."
)
MSG_CANNOT_DELETE = N_("Taxon could not delete “{path}”.")
MSG_EMPTY_NAME = N_("A model's name cannot be empty.")


def _key(path: str | os.PathLike[str]) -> str:
    """The index key of a package: its absolute, resolved path."""
    return str(Path(path).expanduser().resolve())


def _same_name(name: str) -> str:
    """A name as ``unique_name`` compares it: case folded, every script's digits as ASCII
    ("Run ٢" and "run 2" are one name to a reader)."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in name).casefold()


# --------------------------------------------------------------------------- the index


class ModelLibrary:
    """The index file and what can be done with it. Cheap to create: nothing is cached,
    so every call sees what other windows and processes wrote."""

    def __init__(self, index: str | os.PathLike[str] | None = None) -> None:
        self._index = Path(index) if index is not None else None

    @property
    def index_path(self) -> Path:
        if self._index is not None:
            return self._index
        from engine.core.paths import user_data_dir  # read each time: TAXON_HOME may change

        return user_data_dir() / INDEX_NAME

    # -- reading ----------------------------------------------------------------------
    def entries(self) -> list[LibraryEntry]:
        """Every model, newest first (by the date the package was made)."""
        entries = list(enumerate(self._read(repair=False)))  # later in the file: added later
        return [
            entry
            for _n, entry in sorted(
                entries, key=lambda pair: (pair[1].created, pair[0]), reverse=True
            )
        ]

    def get(self, path: str | os.PathLike[str]) -> LibraryEntry | None:
        key = _key(path)
        return next((entry for entry in self._read(repair=False) if entry.path == key), None)

    def unique_name(self, base: str, exclude: str | os.PathLike[str] | None = None) -> str:
        """``base``, or ``base (2)``, ``base (3)``… when another model already has that name.

        The number is written in the UI language's digits ("(٢)" in Arabic), and names that
        differ only in case or in their digits' script count as the same name.
        """
        skip = _key(exclude) if exclude is not None else None
        taken = {_same_name(entry.name) for entry in self._read(repair=False) if entry.path != skip}
        name, counter = base, 2
        while _same_name(name) in taken:
            name = f"{base} ({format_number(counter)})"
            counter += 1
        return name

    # -- changing -----------------------------------------------------------------------
    def add(self, path: str | os.PathLike[str], origin: str = OPENED) -> LibraryEntry:
        """Remember the package at ``path`` (a folder or ``.taxon-model`` file), or refresh
        what the library knows of it; raises ``UserError`` if it is not a valid package."""
        key = _key(path)
        manifest, fmt, size = manifest_of(Path(key))
        fresh = entry_from_manifest(key, manifest, fmt, size, origin)
        return self._put(fresh)

    def add_package(self, package: ModelPackage, origin: str = OPENED) -> LibraryEntry:
        """Remember a package that is already loaded (a ``.taxon-model`` by its file)."""
        key = _key(package.source or package.path)
        if package.source is not None:
            fmt, size = ARCHIVE, size_or_zero(Path(key))
        else:
            fmt, size = FOLDER, folder_size(Path(key))
        return self._put(entry_from_manifest(key, package.manifest, fmt, size, origin))

    def _put(self, fresh: LibraryEntry) -> LibraryEntry:
        result: list[LibraryEntry] = []

        def change(entries: list[LibraryEntry]) -> None:
            old = next((entry for entry in entries if entry.path == fresh.path), None)
            if old is not None:
                entries.remove(old)
                fresh.added = old.added or fresh.added
                fresh.extra = old.extra
                if old.origin == TRAINED:
                    fresh.origin = TRAINED  # once Taxon's, always: it may delete it for good
                if old.renamed:
                    fresh.name, fresh.renamed = old.name, True
            entries.append(fresh)
            result.append(fresh)

        self._update(change)
        return result[0]

    def rename(self, path: str | os.PathLike[str], name: str) -> LibraryEntry:
        """Give a model a new display name (the package itself is not touched)."""
        name = " ".join(name.split())[:MAX_NAME]
        if not name:
            raise UserError(MSG_EMPTY_NAME)
        key = _key(path)
        found: list[LibraryEntry] = []

        def change(entries: list[LibraryEntry]) -> None:
            for entry in entries:
                if entry.path == key:
                    entry.name, entry.renamed = name, True
                    found.append(entry)

        self._update(change)
        if not found:
            raise UserError(MSG_UNKNOWN, path=key)
        return found[0]

    def remove(self, path: str | os.PathLike[str]) -> bool:
        """Forget a model (its files stay where they are). True when it was listed."""
        key = _key(path)
        removed: list[bool] = []

        def change(entries: list[LibraryEntry]) -> None:
            kept = [entry for entry in entries if entry.path != key]
            removed.append(len(kept) != len(entries))
            entries[:] = kept

        self._update(change)
        return removed[0]

    def delete(self, path: str | os.PathLike[str], permanently: bool = False) -> str:
        """Delete a model from disk and forget it: "trash" (moved to the OS trash),
        "deleted" (gone for good; only models Taxon trained) or "gone" (already missing)."""
        key = _key(path)
        entry = self.get(key)
        if entry is None:
            raise UserError(MSG_UNKNOWN, path=key)
        target = Path(key)
        if not (target.exists() or target.is_symlink()):
            self.remove(key)
            return "gone"
        if not _is_model(target):
            raise UserError(MSG_NOT_A_MODEL, path=key)
        if permanently:
            if not entry.trained_by_taxon:
                raise UserError(MSG_NOT_OURS, path=key)
            _delete_for_good(target)
            outcome = "deleted"
        else:
            _trash(target)
            outcome = "trash"
        self.remove(key)
        return outcome

    # -- the file ---------------------------------------------------------------------
    def _read(self, repair: bool) -> list[LibraryEntry]:
        """The entries on disk. A damaged file reads as empty; with ``repair`` (the lock
        held) it is moved aside so that the next write starts afresh."""
        path = self.index_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            log.warning("cannot read the model library %s: %s", path, error)
            return []
        try:
            data = read_versioned_json(
                raw, _INDEX_FORMAT, damaged=ValueError, newer=lambda _version: None
            )
            if not isinstance(data.get("models"), list):
                raise ValueError("not a model library file")
        except ValueError as error:
            log.warning("the model library %s is damaged (%s)", path, error)
            if repair:
                self._set_aside(path)
            return []
        entries: list[LibraryEntry] = []
        for item in data["models"]:
            entry = LibraryEntry.from_json(item)
            if entry is not None and all(old.path != entry.path for old in entries):
                entries.append(entry)
        return entries

    @staticmethod
    def _set_aside(path: Path) -> None:
        backup = path.with_name(f"{path.name}.damaged-{datetime.now():%Y%m%d-%H%M%S}")
        try:
            os.replace(path, backup)
            log.warning("kept the damaged model library as %s; starting an empty one", backup)
        except OSError as error:
            log.warning("cannot set the damaged model library aside: %s", error)

    def _update(self, change: Callable[[list[LibraryEntry]], None]) -> None:
        """Read, change and write the index under the lock (raises ``OSError``)."""
        path = self.index_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(path.with_name(path.name + ".lock")):
            entries = self._read(repair=True)
            change(entries)
            data = {
                "format": FORMAT,
                "version": VERSION,
                "models": [entry.to_json() for entry in entries],
            }
            text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            write_atomic(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- deleting


def can_trash() -> bool:
    """Whether models can be moved to the OS trash (``send2trash`` is installed)."""
    try:
        import send2trash  # noqa: F401
    except ImportError:
        return False
    return True


def _is_model(target: Path) -> bool:
    from engine.models.package import ARCHIVE_SUFFIX, MANIFEST_NAME

    if target.is_symlink():
        return False
    if target.is_file():
        return target.suffix == ARCHIVE_SUFFIX
    return (target / MANIFEST_NAME).is_file()


def _trash(target: Path) -> None:
    try:
        from send2trash import send2trash

        send2trash(str(target))
    except Exception as error:  # ImportError, OSError, TrashPermissionError: all "could not"
        raise UserError(
            MSG_CANNOT_TRASH, details=f"{type(error).__name__}: {error}", path=str(target)
        ) from error


def _delete_for_good(target: Path) -> None:
    try:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    except OSError as error:
        raise UserError(MSG_CANNOT_DELETE, details=str(error), path=str(target)) from error


# --------------------------------------------------------------------------- registering


def register(
    model: str | os.PathLike[str] | ModelPackage,
    origin: str = OPENED,
    library: ModelLibrary | None = None,
) -> LibraryEntry | None:
    """Best effort: remember a package that was just trained or opened. A full disk or a
    read-only data folder must not fail the training or the opening, so this logs instead."""
    library = library or ModelLibrary()
    try:
        if isinstance(model, (str, os.PathLike)):
            return library.add(model, origin)
        return library.add_package(model, origin)
    except (OSError, UserError) as error:
        log.warning("could not add %s to the model library: %s", model, error)
        return None
