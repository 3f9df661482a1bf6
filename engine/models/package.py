"""The model package: a folder the user owns, moves, shares and opens again.

Layout: ``taxon-model.json`` (the manifest: format version, task, labels,
backbone, preprocessing, metrics, training settings, app version, created-at,
the SHA-256 of every other file and ``manifest_sha256``, the digest of the
manifest itself), ``model.safetensors`` (weights), ``evaluation.json`` (the
validation predictions the Evaluate page shows), tokenizer files where a text
model needs them, and ``MODEL_CARD.md``.

Why so strict on load: a package may come from someone else. Loading reads only
JSON and safetensors, refuses any file type that could hold a pickle (a planted
``pytorch_model.bin`` is an attack, not a convenience), checks every file
against the manifest's hashes so a truncated copy is reported, not half-used,
and checks every number the loaders act on (an input size of 100000 would
exhaust the machine long before anything failed).

Why the save dance: a package is written into a hidden sibling folder, every
file fsync'ed, the manifest last, then swapped in (``engine.models.package_swap``). A
crash, a full disk or non-finite weights leave the previous package as it was,
and files the user keeps in the folder (notes, test images) stay. Only an empty
folder or a valid package is ever written over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.about import app_version
from engine.core.atomic import fsync_folder, write_synced
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.models import package_archive, package_swap
from engine.models.manifest import (
    ARCHIVE_SUFFIX,
    CARD_NAME,
    EVALUATION_NAME,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_DIGEST_KEY,
    MANIFEST_NAME,
    MSG_DAMAGED,
    MSG_LINK,
    MSG_NOT_PACKAGE,
    MSG_SAVE_FAILED,
    MSG_UNSAFE_FILE,
    UNSAFE_SUFFIXES,
    WEIGHTS_NAME,
    check_files,
    manifest_digest,
    read_manifest,
)

if TYPE_CHECKING:
    from engine.models.evaluation import Evaluation

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ModelPackage",
    "check_target",
    "is_package",
    "load_package",
    "open_archive",
    "save_package",
    "write_archive",
]

MSG_NON_FINITE = N_(
    "The model was not saved: some of its weights are not finite numbers. "
    "The previous model is unchanged."
)
MSG_SAVE_HALF_DONE = N_(
    "Could not save the model to “{path}”. The previous model was moved to "
    "“{aside}”; Taxon puts it back the next time it opens “{path}”."
)
MSG_NOT_EMPTY = N_(
    "“{path}” already exists and is not a Taxon model. Choose an empty or new folder."
)
MSG_DAMAGED_TARGET = N_(
    "“{path}” holds a damaged Taxon model, so Taxon will not write over it. "
    "Choose an empty or new folder."
)
MSG_USER_FILE_IN_WAY = N_(
    "“{path}” holds “{name}”, which is not part of the model there, and the "
    "new model needs that name. Move it away or choose another folder."
)


@dataclass
class ModelPackage:
    """A validated package on disk. Weights are read on demand (they can be large).

    ``source`` is what the user opened (a ``.taxon-model`` file is unpacked into
    the cache, so ``path`` is then a cache folder): messages name the source.
    """

    path: Path
    manifest: dict[str, Any]
    source: Path | None = field(default=None)

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
        return str(self.manifest.get("name") or (self.source or self.path).name)

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

    def damaged(self, details: str) -> UserError:
        """The "damaged" error for this package, naming the file or folder the user opened."""
        return UserError(MSG_DAMAGED, details=details[:2000], path=str(self.source or self.path))

    def check_outputs(self, shape: tuple[int, ...], expected: int, what: str) -> None:
        """A weight whose first dimension must be the number of outputs: a mismatch with
        the labels is damage (fewer labels than outputs would fail later, more would be
        silently wrong)."""
        shape = tuple(int(size) for size in shape)
        if not shape or shape[0] != expected:
            raise self.damaged(
                f"{what} has shape {shape}, expected {expected} outputs "
                f"for {len(self.manifest['labels'])} labels"
            )

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Each weight's shape, read from the safetensors header alone (nothing is loaded)."""
        from safetensors import safe_open

        try:
            with safe_open(str(self.path / WEIGHTS_NAME), framework="numpy") as handle:
                return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
        except Exception as error:  # a header that lies about sizes, a short file
            raise self.damaged(f"{type(error).__name__}: {error}") from error

    def tensors(self) -> dict[str, Any]:
        """The weights as CPU torch tensors (safetensors: no code runs while reading)."""
        from safetensors.torch import load_file

        try:
            return load_file(str(self.path / WEIGHTS_NAME), device="cpu")
        except Exception as error:  # a header that lies about sizes, a short file
            raise self.damaged(f"{type(error).__name__}: {error}") from error

    def evaluation(self) -> Evaluation | None:
        """The validation-split evaluation saved at training time, if any."""
        from engine.models.evaluation import Evaluation

        path = self.path / EVALUATION_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            raise self.damaged(f"{type(error).__name__}: {error}") from error
        return Evaluation.from_json(data)


def is_package(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a package (has a manifest); ``load_package`` validates."""
    return (Path(path) / MANIFEST_NAME).is_file()


# --------------------------------------------------------------------------- loading


def load_package(path: str | os.PathLike[str]) -> ModelPackage:
    """Open and validate a package (the folder, its ``taxon-model.json``, or a
    ``.taxon-model`` file, which is unpacked into the cache first)."""
    given = Path(path)
    if given.suffix == ARCHIVE_SUFFIX and given.is_file():
        return _load_archive(given)
    folder = given.parent if given.name == MANIFEST_NAME else given
    folder = folder.resolve()
    if package_swap.needs_recovery(folder):
        with package_swap.target_lock(folder):
            package_swap.recover(folder)
    return _load_folder(folder)


def _load_archive(archive: Path) -> ModelPackage:
    folder = package_archive.open_archive(archive)
    try:
        package = _load_folder(folder, source=archive)
    except UserError:
        shutil.rmtree(folder, ignore_errors=True)  # refused: nothing of it stays in the cache
        raise
    return package


def _load_folder(folder: Path, source: Path | None = None) -> ModelPackage:
    shown = str(source or folder)
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise UserError(MSG_NOT_PACKAGE, path=shown, manifest=MANIFEST_NAME)
    for item in folder.rglob("*"):
        if item.is_symlink():
            raise UserError(MSG_LINK, details=str(item), path=shown, name=item.name)
        if item.suffix.lower() in UNSAFE_SUFFIXES:
            raise UserError(MSG_UNSAFE_FILE, path=shown, name=item.name)
    manifest = read_manifest(folder, manifest_path, shown)
    check_files(folder, manifest, shown)
    return ModelPackage(folder, manifest, source)


# --------------------------------------------------------------------------- where a package may go


def check_target(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Whether a package may be written at ``out_dir``: raise a ``UserError`` if not.

    Returns the manifest of the valid package there (None for a new or empty
    folder). Anything else is the user's and is never written over: a file, a
    folder of other things, a folder whose manifest does not check out.
    """
    target = Path(out_dir).resolve()
    if not target.exists():
        return None
    if not target.is_dir():
        raise UserError(MSG_NOT_EMPTY, path=str(target))
    if not any(target.iterdir()):
        return None
    if not is_package(target):
        raise UserError(MSG_NOT_EMPTY, path=str(target))
    try:
        manifest = read_manifest(target, target / MANIFEST_NAME)
        check_files(target, manifest)
    except UserError as error:
        raise UserError(
            MSG_DAMAGED_TARGET, details=f"{error.message} {error.details}", path=str(target)
        ) from error
    return manifest


def _user_file_in_way(target: Path, listed: set[str], names: list[str]) -> str | None:
    """A file or folder the user keeps in ``target`` that a new package file would replace."""
    for name in names:
        parts = Path(name).parts
        for depth in range(1, len(parts) + 1):
            partial = Path(*parts[:depth])
            path = target / partial
            is_last = depth == len(parts)
            if not (path.exists() or path.is_symlink()):
                break
            if is_last and partial.as_posix() not in listed:
                return partial.as_posix()
            if not is_last and not path.is_dir():
                return partial.as_posix()
    return None


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


def save_package(
    out_dir: str | os.PathLike[str],
    *,
    manifest: dict[str, Any],
    tensors: Mapping[str, Any],
    evaluation: dict[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    card: str = "",
) -> Path:
    """Write a package atomically; an existing package at ``out_dir`` is replaced only at the end.

    ``manifest`` holds everything but ``format``, ``format_version``, ``files``,
    ``app_version``, ``created_at`` and ``manifest_sha256``, which are filled in
    here. Files in an existing package folder that its manifest does not list
    are the user's: they are kept in the new package folder.
    """
    target = Path(out_dir).resolve()
    if not all_finite(tensors):
        raise UserError(MSG_NON_FINITE)
    payloads = _payloads(manifest, tensors, evaluation, extra_files, card)
    try:
        with package_swap.target_lock(target):
            package_swap.recover(target)
            _write_folder(target, payloads)
    except package_swap.SwapIncomplete as error:
        raise UserError(
            MSG_SAVE_HALF_DONE, details=str(error), path=str(target), aside=str(error.aside)
        ) from error
    except OSError as error:
        raise UserError(
            MSG_SAVE_FAILED, details=f"{type(error).__name__}: {error}", path=str(target)
        ) from error
    return target


def _payloads(
    manifest: dict[str, Any],
    tensors: Mapping[str, Any],
    evaluation: dict[str, Any] | None,
    extra_files: Mapping[str, bytes] | None,
    card: str,
) -> dict[str, bytes]:
    """Every file's bytes, the manifest last (it is written last)."""
    from safetensors.numpy import save as save_safetensors

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
    full.pop(MANIFEST_DIGEST_KEY, None)
    full[MANIFEST_DIGEST_KEY] = manifest_digest(full)
    payloads[MANIFEST_NAME] = json.dumps(full, ensure_ascii=False, indent=1).encode("utf-8")
    return payloads


def _write_folder(target: Path, payloads: dict[str, bytes]) -> None:
    """With the target's lock held: check again what is there, write, carry, swap."""
    old = check_target(target)  # again: another program may have written it meanwhile
    listed = set(old["files"]) | {MANIFEST_NAME} if old is not None else set()
    keep = package_swap.unlisted_files(target, listed) if target.is_dir() else []
    in_way = _user_file_in_way(target, listed, list(payloads)) if target.is_dir() else None
    if in_way is not None:
        raise UserError(MSG_USER_FILE_IN_WAY, path=str(target), name=in_way)
    staging = package_swap.staging_path(target)
    staging.mkdir()
    try:
        for name, data in payloads.items():  # the manifest is last in ``payloads``
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_synced(path, data)
        package_swap.carry_files(target, staging, keep)
        fsync_folder(staging)
        package_swap.swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if keep:
        log.info("kept %d file(s) of the user's in %s", len(keep), target)


# --------------------------------------------------------------------------- one-file packages


def write_archive(package: str | os.PathLike[str], out_file: str | os.PathLike[str]) -> Path:
    """Zip a validated package into one ``.taxon-model`` file
    (see ``engine.models.package_archive``)."""
    source = load_package(package)
    return package_archive.write_archive(source.path, source.manifest, source.name, out_file)


def open_archive(path: str | os.PathLike[str]) -> Path:
    """Unpack a ``.taxon-model`` file into the cache (see ``engine.models.package_archive``)."""
    return package_archive.open_archive(path)
