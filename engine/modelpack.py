"""The model package: a folder the user owns, moves, shares and opens again.

Layout: ``taxon-model.json`` (the manifest: format version, task, labels,
backbone, preprocessing, metrics, training settings, app version, created-at,
and the SHA-256 of every other file), ``model.safetensors`` (weights),
``evaluation.json`` (the validation predictions the Evaluate page shows),
tokenizer files where a text model needs them, and ``MODEL_CARD.md``.

Why so strict on load: a package may come from someone else. Loading reads only
JSON and safetensors, refuses any file type that could hold a pickle (a planted
``pytorch_model.bin`` is an attack, not a convenience), and checks every file
against the manifest's hashes so a truncated copy is reported, not half-used.

Why the save dance: a package is written into a hidden sibling folder, every
file fsync'ed, the manifest last, then swapped in with renames. A crash, a full
disk or non-finite weights leave the previous package exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.about import app_version
from engine.i18n import N_
from engine.jobs import UserError

if TYPE_CHECKING:
    from engine.evaluation import Evaluation

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST_NAME", "ModelPackage", "is_package",
           "load_package", "save_package"]

FORMAT = "taxon-model"
FORMAT_VERSION = 1
MANIFEST_NAME = "taxon-model.json"
WEIGHTS_NAME = "model.safetensors"
EVALUATION_NAME = "evaluation.json"
CARD_NAME = "MODEL_CARD.md"
TASKS = ("image", "text")
#: File types that can carry a pickle (or code): never loaded, and a package holding one is refused.
UNSAFE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib",
                             ".dill", ".npz", ".h5", ".py", ".pyc", ".so", ".dll", ".dylib"})
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
#: A package zipped into one file (what the installers associate with Taxon).
ARCHIVE_SUFFIX = ".taxon-model"
MAX_ARCHIVE_BYTES = 16 * 1024**3
MAX_ARCHIVE_FILES = 200

MSG_NOT_PACKAGE = N_("“{path}” is not a Taxon model: it has no {manifest} file.")
MSG_DAMAGED = N_("The model “{path}” is damaged and cannot be used.")
MSG_NEWER = N_("The model “{path}” was made by a newer version of Taxon. Update Taxon to use it.")
MSG_UNSAFE_FILE = N_("The model “{path}” contains “{name}”, a kind of file that can run code. "
                     "Taxon does not open such files; the model was not loaded.")
MSG_NON_FINITE = N_("The model was not saved: some of its weights are not finite numbers. "
                    "The previous model is unchanged.")
MSG_SAVE_FAILED = N_("Could not save the model to “{path}”. The previous model is unchanged.")
MSG_BAD_ARCHIVE = N_("“{path}” is not a readable Taxon model file.")
MSG_NOT_EMPTY = N_("“{path}” already exists and is not a Taxon model. Choose an empty or new folder.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelPackage:
    """A validated package on disk. Weights are read on demand (they can be large)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def labels(self) -> list[str]:
        return list(self.manifest["labels"])

    @property
    def task(self) -> str:
        return str(self.manifest["task"])

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.path.name)

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics") or {})

    @property
    def created_at(self) -> str:
        return str(self.manifest.get("created_at", ""))

    @property
    def weights_sha256(self) -> str:
        return str(self.manifest["files"][WEIGHTS_NAME])

    def file(self, name: str) -> Path:
        return self.path / name

    def tensors(self) -> dict[str, Any]:
        """The weights as CPU torch tensors (safetensors: no code runs while reading)."""
        from safetensors.torch import load_file

        try:
            return load_file(str(self.path / WEIGHTS_NAME), device="cpu")
        except Exception as error:  # a header that lies about sizes, a short file
            raise UserError(MSG_DAMAGED, details=f"{type(error).__name__}: {error}",
                            path=str(self.path)) from error

    def evaluation(self) -> Evaluation | None:
        """The validation-split evaluation saved at training time, if any."""
        from engine.evaluation import Evaluation

        path = self.path / EVALUATION_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UserError(MSG_DAMAGED, details=str(error), path=str(self.path)) from error
        return Evaluation.from_json(data)


def is_package(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / MANIFEST_NAME).is_file()


# --------------------------------------------------------------------------- loading


def load_package(path: str | os.PathLike[str]) -> ModelPackage:
    """Open and validate a package (the folder, its ``taxon-model.json``, or a
    ``.taxon-model`` file, which is unpacked into the cache first)."""
    folder = Path(path)
    if folder.suffix == ARCHIVE_SUFFIX and folder.is_file():
        folder = open_archive(folder)
    if folder.name == MANIFEST_NAME:
        folder = folder.parent
    folder = folder.resolve()
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise UserError(MSG_NOT_PACKAGE, path=str(folder), manifest=MANIFEST_NAME)
    for item in folder.rglob("*"):
        if item.suffix.lower() in UNSAFE_SUFFIXES or item.is_symlink():
            raise UserError(MSG_UNSAFE_FILE, path=str(folder), name=item.name)
    manifest = _read_manifest(folder, manifest_path)
    _check_files(folder, manifest)
    return ModelPackage(folder, manifest)


def _read_manifest(folder: Path, manifest_path: Path) -> dict[str, Any]:
    def damaged(problem: str) -> UserError:
        return UserError(MSG_DAMAGED, details=f"{manifest_path}: {problem}", path=str(folder))

    try:
        if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
            raise damaged("the manifest is too large")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise damaged(str(error)) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise damaged("not a taxon-model manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise damaged(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise UserError(MSG_NEWER, details=f"format_version {version}", path=str(folder))
    if manifest.get("task") not in TASKS:
        raise damaged(f"unknown task {manifest.get('task')!r}")
    labels = manifest.get("labels")
    if (not isinstance(labels, list) or len(labels) < 2 or len(set(labels)) != len(labels)
            or not all(isinstance(label, str) and label for label in labels)):
        raise damaged("labels must be two or more distinct non-empty strings")
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS_NAME not in files:
        raise damaged("the manifest lists no weights file")
    for name, digest in files.items():
        if (not isinstance(name, str) or not isinstance(digest, str) or len(digest) != 64
                or Path(name).is_absolute() or ".." in Path(name).parts):
            raise damaged(f"bad file entry {name!r}")
    return manifest


def _check_files(folder: Path, manifest: dict[str, Any]) -> None:
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise UserError(MSG_DAMAGED, details=f"{name} is missing", path=str(folder))
        if sha256_file(path) != digest:
            raise UserError(MSG_DAMAGED, details=f"{name} does not match its checksum",
                            path=str(folder))


# --------------------------------------------------------------------------- saving


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.ascontiguousarray(value)


def all_finite(tensors: Mapping[str, Any]) -> bool:
    """Whether every floating-point tensor holds only finite numbers."""
    for value in tensors.values():
        array = _as_numpy(value)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            return False
    return True


def save_package(out_dir: str | os.PathLike[str], *, manifest: dict[str, Any],
                 tensors: Mapping[str, Any], evaluation: dict[str, Any] | None = None,
                 extra_files: Mapping[str, bytes] | None = None, card: str = "") -> Path:
    """Write a package atomically; an existing package at ``out_dir`` is replaced only at the end.

    ``manifest`` holds everything but ``format``, ``format_version``, ``files``,
    ``app_version`` and ``created_at``, which are filled in here.
    """
    from safetensors.numpy import save as save_safetensors

    target = Path(out_dir).resolve()
    if target.exists() and not (target.is_dir() and (is_package(target) or not any(target.iterdir()))):
        raise UserError(MSG_NOT_EMPTY, path=str(target))
    if not all_finite(tensors):
        raise UserError(MSG_NON_FINITE)
    arrays = {name: _as_numpy(value) for name, value in tensors.items()}
    payloads: dict[str, bytes] = {WEIGHTS_NAME: save_safetensors(arrays)}
    if evaluation is not None:
        payloads[EVALUATION_NAME] = json.dumps(evaluation, ensure_ascii=False).encode("utf-8")
    for name, data in (extra_files or {}).items():
        if Path(name).suffix.lower() in UNSAFE_SUFFIXES:
            raise ValueError(f"refusing to write {name} into a model package")
        payloads[name] = data
    if card:
        payloads[CARD_NAME] = card.encode("utf-8")
    full = {
        **manifest,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in payloads.items()},
    }
    payloads[MANIFEST_NAME] = json.dumps(full, ensure_ascii=False, indent=1).encode("utf-8")
    try:
        _write_folder(target, payloads)
    except OSError as error:
        raise UserError(MSG_SAVE_FAILED, details=f"{type(error).__name__}: {error}",
                         path=str(target)) from error
    return target


def _write_folder(target: Path, payloads: dict[str, bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        for name, data in payloads.items():  # the manifest is last in ``payloads``
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_folder(staging)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_folder(target.parent)


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``: old aside, new in, old removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --------------------------------------------------------------------------- one-file packages


def write_archive(package: str | os.PathLike[str], out_file: str | os.PathLike[str]) -> Path:
    """Zip a validated package into one ``.taxon-model`` file (stored: weights do not shrink)."""
    import zipfile

    source = load_package(package)
    target = Path(out_file)
    if target.suffix != ARCHIVE_SUFFIX:
        target = target.with_name(target.name + ARCHIVE_SUFFIX)
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_STORED) as archive:
            for name in [*source.manifest["files"], MANIFEST_NAME]:
                archive.write(source.path / name, name)
        os.replace(staging, target)
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise UserError(MSG_SAVE_FAILED, details=str(error), path=str(target)) from error
    return target


def open_archive(path: str | os.PathLike[str]) -> Path:
    """Unpack a ``.taxon-model`` file into the cache (once per content) and return the folder.

    Hostile archives are refused before anything is written: absolute or ``..``
    names, links, too many or too large members, any unsafe file type.
    """
    import zipfile

    from engine.paths import user_cache_dir

    archive_path = Path(path)
    try:
        digest = sha256_file(archive_path)
        target = user_cache_dir() / "opened-models" / digest[:24]
        if (target / MANIFEST_NAME).is_file():
            return target
        shutil.rmtree(target, ignore_errors=True)  # a half-unpacked earlier attempt
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.infolist()
            _check_members(members)
            staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
            staging.mkdir(parents=True)
            try:
                for member in members:
                    destination = staging / member.filename
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(destination, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                os.replace(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise UserError(MSG_BAD_ARCHIVE, details=f"{type(error).__name__}: {error}",
                        path=str(archive_path)) from error
    return target


def _check_members(members) -> None:
    if len(members) > MAX_ARCHIVE_FILES or sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
        raise ValueError("too many or too large files")
    for member in members:
        name = Path(member.filename)
        link = (member.external_attr >> 16) & 0o170000 == 0o120000
        if (member.is_dir() or link or name.is_absolute() or ".." in name.parts
                or member.filename.startswith(("/", "\\")) or ":" in member.filename
                or name.suffix.lower() in UNSAFE_SUFFIXES):
            raise ValueError(f"refused member {member.filename!r}")
