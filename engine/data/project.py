"""The project folder: which datasets the user works on, their cleaning plans, their models.

A project is a folder holding ``taxon-project.json``. The manifest is the
user's work, so it is handled with care:

- it is written atomically (``write_atomic``): a crash leaves the old file or
  the new one, never half of one;
- a manifest Taxon cannot fully understand (damaged JSON, another format,
  missing keys, or a newer format version) is refused with a ``UserError``
  and never written to, so a newer Taxon's or a hand-edited file is not lost;
- keys this version does not know are kept and written back unchanged;
- paths inside the project folder are stored relative to it, so a project
  can be moved or synced to another computer.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.core.atomic import write_atomic
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.core.paths import user_config_dir
from engine.core.versioned_json import JsonFormat, read_versioned_json, version_of
from engine.data.datasets import TASKS, DatasetSource

log = logging.getLogger(__name__)

MANIFEST_NAME = "taxon-project.json"
FORMAT = "taxon-project"
VERSION = 1
_FORMAT = JsonFormat(FORMAT, newest=VERSION)
RECENT_FILE = "recent-projects.json"
MAX_RECENT = 10

MSG_NOT_A_PROJECT = N_("{path} is not a Taxon project (it has no {manifest} file).")
MSG_ALREADY_A_PROJECT = N_("{path} already holds a Taxon project. Open it instead.")
MSG_CANNOT_READ = N_("Taxon cannot read the project file {path}.")
MSG_DAMAGED = N_(
    "The project file {path} is damaged ({problem}). Taxon will not change it; restore it "
    "from a backup or create a new project."
)
MSG_NEWER = N_(
    "The project {path} was made by a newer Taxon (format version {version}; this version "
    "understands up to {supported}). Update Taxon to open it; the file is left unchanged."
)
MSG_CANNOT_SAVE = N_("Taxon cannot save the project file {path}.")
MSG_CANNOT_CREATE = N_("Taxon cannot create the project folder {path}.")
MSG_UNKNOWN_DATASET = N_("The project has no dataset with the id {id}.")
MSG_BAD_TASK = N_("Unknown task {task}: choose image or text.")

#: Keys a manifest must have; what is wrong goes into MSG_DAMAGED's {problem} untranslated.
_TOP_KEYS = ("format", "name", "datasets", "models")  # the version: read_versioned_json


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class DatasetEntry:
    """A dataset the project refers to (never a copy: the user's files stay where they are)."""

    id: str
    name: str
    task: str
    source: DatasetSource
    plan: dict[str, Any] | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # keys from later format revisions


@dataclass
class ModelEntry:
    """A trained model package the project knows about."""

    id: str
    name: str
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)


class Project:
    """An open project. Mutators set ``dirty``; ``save`` or ``autosave`` writes it."""

    def __init__(self, folder: Path, name: str, created: str | None = None) -> None:
        self.folder = Path(os.path.abspath(folder))
        self.name = name
        self.created = created or _now()
        self.modified = self.created
        self.datasets: list[DatasetEntry] = []
        self.models: list[ModelEntry] = []
        self.settings: dict[str, Any] = {}
        self.dirty = False
        self._extra: dict[str, Any] = {}

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    # ----------------------------------------------------------------- opening

    @classmethod
    def create(cls, folder: str | os.PathLike[str], name: str) -> Project:
        """Make a new project in ``folder`` (created if needed) and save it at once."""
        path = Path(folder)
        if (path / MANIFEST_NAME).exists():
            raise UserError(MSG_ALREADY_A_PROJECT, path=str(path))
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(MSG_CANNOT_CREATE, str(error), path=str(path)) from error
        project = cls(path, name)
        project.save()
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Project:
        """Read a project folder (or its manifest file); refuse anything not fully understood."""
        path = Path(folder)
        if path.name == MANIFEST_NAME and path.is_file():
            path = path.parent
        manifest = path / MANIFEST_NAME
        if not manifest.is_file():
            raise UserError(MSG_NOT_A_PROJECT, path=str(path), manifest=MANIFEST_NAME)
        try:
            raw = manifest.read_bytes()
        except OSError as error:
            raise UserError(MSG_CANNOT_READ, str(error), path=str(manifest)) from error
        return cls._from_json(path, _parse_manifest(raw, manifest))

    @classmethod
    def _from_json(cls, folder: Path, data: dict[str, Any]) -> Project:
        project = cls(folder, str(data["name"]), data.get("created"))
        project.modified = data.get("modified", project.created)
        project.settings = dict(data.get("settings") or {})
        project._extra = {k: v for k, v in data.items() if k not in _KNOWN_TOP}
        for item in data["datasets"]:
            source = dict(item["source"])
            source["path"] = str(project.resolve(source["path"]))
            project.datasets.append(
                DatasetEntry(
                    id=str(item["id"]),
                    name=str(item["name"]),
                    task=str(item["task"]),
                    source=DatasetSource.from_json(source),
                    plan=item.get("plan"),
                    versions=list(item.get("versions") or []),
                    extra={k: v for k, v in item.items() if k not in _KNOWN_DATASET},
                )
            )
        for item in data["models"]:
            project.models.append(
                ModelEntry(
                    id=str(item["id"]),
                    name=str(item["name"]),
                    path=project.resolve(item["path"]),
                    extra={k: v for k, v in item.items() if k not in _KNOWN_MODEL},
                )
            )
        return project

    # ----------------------------------------------------------------- saving

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self._extra)
        data.update(
            format=FORMAT,
            version=VERSION,
            name=self.name,
            created=self.created,
            modified=self.modified,
            settings=self.settings,
        )
        data["datasets"] = [
            {
                **entry.extra,
                "id": entry.id,
                "name": entry.name,
                "task": entry.task,
                "source": {**entry.source.to_json(), "path": self.portable(entry.source.path)},
                "plan": entry.plan,
                "versions": entry.versions,
            }
            for entry in self.datasets
        ]
        data["models"] = [
            {**model.extra, "id": model.id, "name": model.name, "path": self.portable(model.path)}
            for model in self.models
        ]
        return data

    def save(self) -> None:
        """Write the manifest atomically; never over a manifest a newer Taxon wrote meanwhile."""
        self._refuse_newer_on_disk()
        self.modified = _now()
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"
        try:
            write_atomic(self.manifest_path, text.encode("utf-8"))
        except OSError as error:
            raise UserError(MSG_CANNOT_SAVE, str(error), path=str(self.manifest_path)) from error
        self.dirty = False

    def autosave(self) -> bool:
        """Save if anything changed since the last save; True when it wrote. For a GUI timer."""
        if not self.dirty:
            return False
        self.save()
        return True

    def _refuse_newer_on_disk(self) -> None:
        try:
            data = json.loads(self.manifest_path.read_bytes())
        except (OSError, ValueError):
            return  # absent or unreadable: ours to (re)write
        version = version_of(data)
        if isinstance(version, int) and version > VERSION:
            raise UserError(MSG_NEWER, path=str(self.folder), version=version, supported=VERSION)

    # ----------------------------------------------------------------- paths

    def portable(self, path: str | os.PathLike[str]) -> str:
        """Relative POSIX path when inside the project folder, else the absolute path."""
        absolute = Path(os.path.abspath(path))
        try:
            return absolute.relative_to(self.folder).as_posix()
        except ValueError:
            return str(absolute)

    def resolve(self, stored: str) -> Path:
        """The absolute path a stored (possibly project-relative) path means."""
        path = Path(stored)
        return path if path.is_absolute() else self.folder / path

    # ----------------------------------------------------------------- content

    def mark_dirty(self) -> None:
        """Call after changing ``settings`` (or an entry) directly, so autosave writes it."""
        self.dirty = True

    def dataset(self, dataset_id: str) -> DatasetEntry:
        for entry in self.datasets:
            if entry.id == dataset_id:
                return entry
        raise UserError(MSG_UNKNOWN_DATASET, id=dataset_id)

    def add_dataset(self, source: DatasetSource, name: str, task: str) -> str:
        """Refer to a dataset (by where and how it is read) and return its new id."""
        if task not in TASKS:
            raise UserError(MSG_BAD_TASK, task=task)
        entry = DatasetEntry(_new_id(), name, task, source)
        self.datasets.append(entry)
        self.dirty = True
        return entry.id

    def remove_dataset(self, dataset_id: str) -> None:
        self.datasets.remove(self.dataset(dataset_id))
        self.dirty = True

    def set_plan(self, dataset_id: str, plan_json: dict[str, Any] | None) -> None:
        """Store the dataset's cleaning plan (``CleaningPlan.to_json()``), or clear it."""
        self.dataset(dataset_id).plan = plan_json
        self.dirty = True

    def add_version(self, dataset_id: str, path: str | os.PathLike[str], **info: Any) -> dict:
        """Record a cleaned copy written by ``save_dataset`` (path plus any JSON-able info)."""
        version = {"id": _new_id(), "created": _now(), "path": self.portable(path), **info}
        self.dataset(dataset_id).versions.append(version)
        self.dirty = True
        return version

    def add_model(self, name: str, path: str | os.PathLike[str]) -> str:
        """Remember a trained model package; returns its id."""
        entry = ModelEntry(_new_id(), name, Path(os.path.abspath(path)))
        self.models.append(entry)
        self.dirty = True
        return entry.id

    def remove_model(self, model_id: str) -> None:
        self.models = [model for model in self.models if model.id != model_id]
        self.dirty = True

    def set_setting(self, key: str, value: Any) -> None:
        self.settings[key] = value
        self.dirty = True


_KNOWN_TOP = {
    "format",
    "version",
    "format_version",
    "name",
    "created",
    "modified",
    "datasets",
    "models",
    "settings",
}
_KNOWN_DATASET = {"id", "name", "task", "source", "plan", "versions"}
_KNOWN_MODEL = {"id", "name", "path"}


def _parse_manifest(raw: bytes, manifest: Path) -> dict[str, Any]:
    """Validate everything ``_from_json`` relies on, so a bad file fails here, whole."""

    def damaged(problem: str) -> UserError:
        return UserError(MSG_DAMAGED, problem, path=str(manifest), problem=problem)

    def newer(version: int) -> UserError:
        return UserError(MSG_NEWER, path=str(manifest.parent), version=version, supported=VERSION)

    data = read_versioned_json(raw, _FORMAT, damaged=damaged, newer=newer, encoding="utf-8-sig")
    missing = [key for key in _TOP_KEYS if key not in data]
    if missing:
        raise damaged("missing " + ", ".join(missing))
    if not isinstance(data["datasets"], list) or not isinstance(data["models"], list):
        raise damaged("datasets and models must be lists")
    if not isinstance(data.get("settings") or {}, dict):
        raise damaged("settings must be an object")
    for index, item in enumerate(data["datasets"]):
        problem = _dataset_problem(item)
        if problem:
            raise damaged(f"dataset {index + 1}: {problem}")
    for index, item in enumerate(data["models"]):
        if not isinstance(item, dict) or any(key not in item for key in _KNOWN_MODEL):
            raise damaged(f"model {index + 1}: needs id, name and path")
    return data


def _dataset_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    missing = [key for key in ("id", "name", "task", "source") if key not in item]
    if missing:
        return "missing " + ", ".join(missing)
    if item["task"] not in TASKS:
        return f"unknown task {item['task']!r}"
    source = item["source"]
    if not isinstance(source, dict) or "kind" not in source or "path" not in source:
        return "source needs kind and path"
    try:
        DatasetSource.from_json(source)
    except TypeError as error:
        return f"bad source: {error}"
    plan = item.get("plan")
    if plan is not None and not isinstance(plan, dict):
        return "plan must be an object or null"
    if not isinstance(item.get("versions") or [], list):
        return "versions must be a list"
    return None


# --------------------------------------------------------------------- recent projects


def _recent_file() -> Path:
    return user_config_dir() / RECENT_FILE


def _read_recent() -> list[str]:
    try:
        data = json.loads(_recent_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        log.warning("Ignoring the recent projects list: %s", error)
        return []
    entries = data.get("projects") if isinstance(data, dict) else None
    return [str(entry) for entry in entries or [] if isinstance(entry, str)]


def _write_recent(paths: list[str]) -> None:
    """Best effort: losing the recent list must never stop the user's work."""
    text = json.dumps({"projects": paths[:MAX_RECENT]}, ensure_ascii=False, indent=2) + "\n"
    try:
        write_atomic(_recent_file(), text.encode("utf-8"))
    except OSError as error:
        log.warning("Cannot save the recent projects list: %s", error)


def recent_projects() -> list[Path]:
    """Project folders opened lately, most recent first; vanished ones are left out."""
    return [Path(p) for p in _read_recent() if (Path(p) / MANIFEST_NAME).is_file()][:MAX_RECENT]


def remember_project(path: str | os.PathLike[str]) -> None:
    """Put a project folder at the top of the recent list (at most ``MAX_RECENT`` kept)."""
    folder = Path(path)
    if folder.name == MANIFEST_NAME:
        folder = folder.parent
    entry = os.path.abspath(folder)
    key = os.path.normcase(entry)
    kept = [p for p in _read_recent() if os.path.normcase(p) != key and Path(p).exists()]
    _write_recent([entry, *kept])


def forget_project(path: str | os.PathLike[str]) -> None:
    """Drop a folder from the recent list (the user removed it from the menu)."""
    key = os.path.normcase(os.path.abspath(path))
    _write_recent([p for p in _read_recent() if os.path.normcase(p) != key])
