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

import contextlib
import json
import logging
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.atomic import write_atomic
from engine.core.file_lock import exclusive_lock
from engine.core.i18n import N_
from engine.core.jobs import UserError

if TYPE_CHECKING:
    from engine.models.package import ModelPackage

log = logging.getLogger(__name__)

__all__ = ["INDEX_NAME", "LibraryEntry", "ModelLibrary", "can_trash", "register"]

INDEX_NAME = "models.json"
FORMAT = "taxon-model-library"
VERSION = 1
TRAINED, OPENED = "trained", "opened"
FOLDER, ARCHIVE = "folder", "archive"
#: Labels kept in the index (the count is always exact); the package holds them all.
LABELS_KEPT = 50
MAX_NAME = 200

MSG_UNKNOWN = N_("“{path}” is not in the list of models.")
MSG_NOT_A_MODEL = N_("“{path}” is no longer a Taxon model, so Taxon will not delete it.")
MSG_CANNOT_TRASH = N_("Taxon could not move “{path}” to the trash.")
MSG_NOT_OURS = N_("Taxon deletes for good only models it trained itself. “{path}” was left "
                  "where it is; delete it yourself if you no longer need it.")
MSG_CANNOT_DELETE = N_("Taxon could not delete “{path}”.")
MSG_EMPTY_NAME = N_("A model's name cannot be empty.")


def _key(path: str | os.PathLike[str]) -> str:
    """The index key of a package: its absolute, resolved path."""
    return str(Path(path).expanduser().resolve())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class LibraryEntry:
    """One model in the library. ``name`` is the display name (a rename changes only it)."""

    path: str
    name: str
    task: str
    classes: int
    labels: list[str]
    accuracy: float | None
    created: str
    size: int
    kind: str = ""
    format: str = FOLDER
    origin: str = OPENED
    added: str = ""
    renamed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # keys from a later Taxon, kept

    @property
    def missing(self) -> bool:
        """The folder (or ``.taxon-model`` file) is no longer there."""
        return not os.path.exists(self.path)

    @property
    def trained_by_taxon(self) -> bool:
        return self.origin == TRAINED

    @property
    def created_at(self) -> datetime | None:
        """When the package was made, in local time (None when the date is unreadable)."""
        try:
            moment = datetime.fromisoformat(self.created)
        except (TypeError, ValueError):
            return None
        return moment.astimezone() if moment.tzinfo else moment

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "path": self.path, "name": self.name, "task": self.task,
                "classes": self.classes, "labels": self.labels, "accuracy": self.accuracy,
                "created": self.created, "size": self.size, "kind": self.kind,
                "format": self.format, "origin": self.origin, "added": self.added,
                "renamed": self.renamed}

    @classmethod
    def from_json(cls, data: Any) -> LibraryEntry | None:
        """An entry, or None for one that is not understood (it is dropped, with a log line)."""
        known = {"path", "name", "task", "classes", "labels", "accuracy", "created", "size",
                 "kind", "format", "origin", "added", "renamed"}
        try:
            accuracy = data.get("accuracy")
            entry = cls(
                path=str(data["path"]), name=str(data["name"])[:MAX_NAME], task=str(data["task"]),
                classes=int(data.get("classes") or 0),
                labels=[str(label) for label in data.get("labels") or []][:LABELS_KEPT],
                accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
                created=str(data.get("created") or ""), size=int(data.get("size") or 0),
                kind=str(data.get("kind") or ""), format=str(data.get("format") or FOLDER),
                origin=str(data.get("origin") or OPENED), added=str(data.get("added") or ""),
                renamed=bool(data.get("renamed")),
                extra={key: value for key, value in data.items() if key not in known})
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            log.warning("dropping a model library entry that is not understood: %s", error)
            return None
        return entry if os.path.isabs(entry.path) and entry.name else None


# --------------------------------------------------------------------------- reading packages


def _manifest_of(path: Path) -> tuple[dict[str, Any], str, int]:
    """(manifest, format, size on disk) of a package folder or ``.taxon-model`` file; reads
    only the manifest (the caller loaded, or is about to load, the package itself)."""
    from engine.models.package import ARCHIVE_SUFFIX, MANIFEST_NAME, read_manifest

    if path.is_file() and path.suffix == ARCHIVE_SUFFIX:
        return _archive_manifest(path), ARCHIVE, path.stat().st_size
    folder = path.parent if path.name == MANIFEST_NAME else path
    manifest = read_manifest(folder, folder / MANIFEST_NAME)
    return manifest, FOLDER, _folder_size(folder)


def _archive_manifest(path: Path) -> dict[str, Any]:
    from engine.models.package import MANIFEST_NAME, MAX_MANIFEST_BYTES, MSG_DAMAGED, parse_manifest

    try:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo(MANIFEST_NAME)
            if member.file_size > MAX_MANIFEST_BYTES:
                raise UserError(MSG_DAMAGED, details="the manifest is too large", path=str(path))
            with archive.open(member) as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise UserError(MSG_DAMAGED, details=str(error), path=str(path)) from error
    return parse_manifest(data, str(path))


def _folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(root, name))
                total += info.st_size
    return total


def _entry_from_manifest(key: str, manifest: dict[str, Any], fmt: str, size: int,
                         origin: str) -> LibraryEntry:
    labels = [str(label) for label in manifest.get("labels") or []]
    accuracy = (manifest.get("metrics") or {}).get("accuracy")
    name = str(manifest.get("name") or Path(key).name.removesuffix(".taxon-model"))[:MAX_NAME]
    return LibraryEntry(path=key, name=name, task=str(manifest.get("task", "")),
                        classes=len(labels), labels=labels[:LABELS_KEPT],
                        accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
                        created=str(manifest.get("created_at", "")), size=size,
                        kind=str(manifest.get("kind", "")), format=fmt, origin=origin,
                        added=_now())


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
        return [entry for _n, entry in sorted(entries, key=lambda pair: (pair[1].created, pair[0]),
                                               reverse=True)]

    def get(self, path: str | os.PathLike[str]) -> LibraryEntry | None:
        key = _key(path)
        return next((entry for entry in self._read(repair=False) if entry.path == key), None)

    def unique_name(self, base: str, exclude: str | os.PathLike[str] | None = None) -> str:
        """``base``, or ``base (2)``, ``base (3)``… when another model already has that name."""
        skip = _key(exclude) if exclude is not None else None
        taken = {entry.name.casefold() for entry in self._read(repair=False) if entry.path != skip}
        name, counter = base, 2
        while name.casefold() in taken:
            name = f"{base} ({counter})"
            counter += 1
        return name

    # -- changing -----------------------------------------------------------------------
    def add(self, path: str | os.PathLike[str], origin: str = OPENED) -> LibraryEntry:
        """Remember the package at ``path`` (a folder or ``.taxon-model`` file), or refresh
        what the library knows of it; raises ``UserError`` if it is not a valid package."""
        key = _key(path)
        manifest, fmt, size = _manifest_of(Path(key))
        fresh = _entry_from_manifest(key, manifest, fmt, size, origin)
        return self._put(fresh)

    def add_package(self, package: ModelPackage, origin: str = OPENED) -> LibraryEntry:
        """Remember a package that is already loaded (a ``.taxon-model`` by its file)."""
        key = _key(package.source or package.path)
        if package.source is not None:
            fmt, size = ARCHIVE, _size_or_zero(Path(key))
        else:
            fmt, size = FOLDER, _folder_size(Path(key))
        return self._put(_entry_from_manifest(key, package.manifest, fmt, size, origin))

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
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT \
                    or not isinstance(data.get("models"), list):
                raise ValueError("not a model library file")
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
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
            data = {"format": FORMAT, "version": VERSION,
                    "models": [entry.to_json() for entry in entries]}
            text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            write_atomic(path, text.encode("utf-8"))


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
        raise UserError(MSG_CANNOT_TRASH, details=f"{type(error).__name__}: {error}",
                        path=str(target)) from error


def _delete_for_good(target: Path) -> None:
    try:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    except OSError as error:
        raise UserError(MSG_CANNOT_DELETE, details=str(error), path=str(target)) from error


# --------------------------------------------------------------------------- registering


def register(model: str | os.PathLike[str] | ModelPackage, origin: str = OPENED,
             library: ModelLibrary | None = None) -> LibraryEntry | None:
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
