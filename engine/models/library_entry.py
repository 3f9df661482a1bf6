"""One model as the library remembers it, and how that record is read from a package.

An entry keeps what the Models page and the choosers show without opening the
package (name, task, classes, accuracy, size, dates); only the manifest is read
to make one, never the weights. Keys from a later Taxon are kept in ``extra``
and written back, so an older Taxon sharing the index loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.core.jobs import UserError

log = logging.getLogger(__name__)

TRAINED, OPENED = "trained", "opened"
FOLDER, ARCHIVE = "folder", "archive"
#: Labels kept in the index (the count is always exact); the package holds them all.
LABELS_KEPT = 50
MAX_NAME = 200


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
        return {
            **self.extra,
            "path": self.path,
            "name": self.name,
            "task": self.task,
            "classes": self.classes,
            "labels": self.labels,
            "accuracy": self.accuracy,
            "created": self.created,
            "size": self.size,
            "kind": self.kind,
            "format": self.format,
            "origin": self.origin,
            "added": self.added,
            "renamed": self.renamed,
        }

    @classmethod
    def from_json(cls, data: Any) -> LibraryEntry | None:
        """An entry, or None for one that is not understood (it is dropped, with a log line)."""
        known = {
            "path",
            "name",
            "task",
            "classes",
            "labels",
            "accuracy",
            "created",
            "size",
            "kind",
            "format",
            "origin",
            "added",
            "renamed",
        }
        try:
            accuracy = data.get("accuracy")
            entry = cls(
                path=str(data["path"]),
                name=str(data["name"])[:MAX_NAME],
                task=str(data["task"]),
                classes=int(data.get("classes") or 0),
                labels=[str(label) for label in data.get("labels") or []][:LABELS_KEPT],
                accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
                created=str(data.get("created") or ""),
                size=int(data.get("size") or 0),
                kind=str(data.get("kind") or ""),
                format=str(data.get("format") or FOLDER),
                origin=str(data.get("origin") or OPENED),
                added=str(data.get("added") or ""),
                renamed=bool(data.get("renamed")),
                extra={key: value for key, value in data.items() if key not in known},
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            log.warning("dropping a model library entry that is not understood: %s", error)
            return None
        return entry if os.path.isabs(entry.path) and entry.name else None


# --------------------------------------------------------------------------- reading packages


def manifest_of(path: Path) -> tuple[dict[str, Any], str, int]:
    """(manifest, format, size on disk) of a package folder or ``.taxon-model`` file; reads
    only the manifest (the caller loaded, or is about to load, the package itself)."""
    from engine.models.package import ARCHIVE_SUFFIX, MANIFEST_NAME, read_manifest

    if path.is_file() and path.suffix == ARCHIVE_SUFFIX:
        return _archive_manifest(path), ARCHIVE, path.stat().st_size
    folder = path.parent if path.name == MANIFEST_NAME else path
    manifest = read_manifest(folder, folder / MANIFEST_NAME)
    return manifest, FOLDER, folder_size(folder)


def _archive_manifest(path: Path) -> dict[str, Any]:
    from engine.models.manifest import (
        MANIFEST_NAME,
        MAX_MANIFEST_BYTES,
        MSG_DAMAGED,
        parse_manifest,
    )

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


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(root, name))
                total += info.st_size
    return total


def entry_from_manifest(
    key: str, manifest: dict[str, Any], fmt: str, size: int, origin: str
) -> LibraryEntry:
    labels = [str(label) for label in manifest.get("labels") or []]
    accuracy = (manifest.get("metrics") or {}).get("accuracy")
    name = str(manifest.get("name") or Path(key).name.removesuffix(".taxon-model"))[:MAX_NAME]
    return LibraryEntry(
        path=key,
        name=name,
        task=str(manifest.get("task", "")),
        classes=len(labels),
        labels=labels[:LABELS_KEPT],
        accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        created=str(manifest.get("created_at", "")),
        size=size,
        kind=str(manifest.get("kind", "")),
        format=fmt,
        origin=origin,
        added=_now(),
    )


def size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
