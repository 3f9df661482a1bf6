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
file fsync'ed, the manifest last, then swapped in (``engine.package_swap``). A
crash, a full disk or non-finite weights leave the previous package as it was,
and files the user keeps in the folder (notes, test images) stay. Only an empty
folder or a valid package is ever written over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine import package_swap
from engine.about import app_version
from engine.i18n import N_
from engine.jobs import UserError

if TYPE_CHECKING:
    from engine.evaluation import Evaluation

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST_NAME", "ModelPackage", "check_target",
           "is_package", "load_package", "open_archive", "save_package", "write_archive"]

FORMAT = "taxon-model"
FORMAT_VERSION = 1
MANIFEST_NAME = "taxon-model.json"
MANIFEST_DIGEST_KEY = "manifest_sha256"
WEIGHTS_NAME = "model.safetensors"
EVALUATION_NAME = "evaluation.json"
CARD_NAME = "MODEL_CARD.md"
TASKS = ("image", "text")
#: File types that can carry a pickle (or code): never loaded, and a package holding one is refused.
UNSAFE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib",
                             ".dill", ".npz", ".h5", ".py", ".pyc", ".so", ".dll", ".dylib"})
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_LABELS = 100_000
#: A package zipped into one file (what the installers associate with Taxon).
ARCHIVE_SUFFIX = ".taxon-model"

MSG_NOT_PACKAGE = N_("“{path}” is not a Taxon model: it has no {manifest} file.")
MSG_DAMAGED = N_("The model “{path}” is damaged and cannot be used.")
MSG_NEWER = N_("The model “{path}” was made by a newer version of Taxon. Update Taxon to use it.")
MSG_UNSAFE_FILE = N_("The model “{path}” contains “{name}”, a kind of file that can run code. "
                     "Taxon does not open such files; the model was not loaded.")
MSG_LINK = N_("The model “{path}” contains “{name}”, a link to somewhere else. Taxon does not "
              "follow links inside a model; the model was not loaded.")
MSG_NON_FINITE = N_("The model was not saved: some of its weights are not finite numbers. "
                    "The previous model is unchanged.")
MSG_SAVE_FAILED = N_("Could not save the model to “{path}”. The previous model is unchanged.")
MSG_SAVE_HALF_DONE = N_("Could not save the model to “{path}”. The previous model was moved to "
                        "“{aside}”; Taxon puts it back the next time it opens “{path}”.")
MSG_NOT_EMPTY = N_("“{path}” already exists and is not a Taxon model. Choose an empty or new folder.")
MSG_DAMAGED_TARGET = N_("“{path}” holds a damaged Taxon model, so Taxon will not write over it. "
                        "Choose an empty or new folder.")
MSG_USER_FILE_IN_WAY = N_("“{path}” holds “{name}”, which is not part of the model there, and the "
                          "new model needs that name. Move it away or choose another folder.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
            raise self.damaged(f"{what} has shape {shape}, expected {expected} outputs "
                               f"for {len(self.manifest['labels'])} labels")

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
        from engine.evaluation import Evaluation

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
    from engine.package_archive import open_archive as unpack

    folder = unpack(archive)
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
    _check_files(folder, manifest, shown)
    return ModelPackage(folder, manifest, source)


def read_manifest(folder: Path, manifest_path: Path, shown: str | None = None) -> dict[str, Any]:
    """The validated manifest of ``folder``; a ``UserError`` naming ``shown`` otherwise."""
    shown = shown or str(folder)
    try:
        if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
            raise UserError(MSG_DAMAGED, details=f"{manifest_path}: the manifest is too large",
                            path=shown)
        data = manifest_path.read_bytes()
    except OSError as error:
        raise UserError(MSG_DAMAGED, details=f"{manifest_path}: {error}", path=shown) from error
    return parse_manifest(data, shown)


def parse_manifest(data: bytes, shown: str) -> dict[str, Any]:
    """Validate manifest bytes: structure, file list, every number a loader uses, and the
    manifest's own checksum (packages made before checksums load, logged as unsigned)."""
    def damaged(problem: str) -> UserError:
        return UserError(MSG_DAMAGED, details=f"{MANIFEST_NAME}: {problem}", path=shown)

    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # deep nesting is damage, not a crash
        raise damaged(f"{type(error).__name__}: {str(error)[:200]}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise damaged("not a taxon-model manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise damaged(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise UserError(MSG_NEWER, details=f"format_version {version}", path=shown)
    problem = _structure_problem(manifest) or _numbers_problem(manifest)
    if problem:
        raise damaged(problem)
    _check_manifest_digest(manifest, shown, damaged)
    return manifest


def _structure_problem(manifest: dict[str, Any]) -> str | None:
    if manifest.get("task") not in TASKS:
        return f"unknown task {manifest.get('task')!r}"
    labels = manifest.get("labels")
    if (not isinstance(labels, list) or not 2 <= len(labels) <= MAX_LABELS
            or not all(isinstance(label, str) and label for label in labels)
            or len(set(labels)) != len(labels)):
        return "labels must be two or more distinct non-empty strings"
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS_NAME not in files:
        return "the manifest lists no weights file"
    for name, digest in files.items():
        if (not isinstance(name, str) or not isinstance(digest, str) or len(digest) != 64
                or not name or Path(name).is_absolute() or ".." in Path(name).parts
                or "\\" in name or ":" in name or name == MANIFEST_NAME):
            return f"bad file entry {name!r}"
    for key in ("preprocess", "metrics", "backbone", "training", "data"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            return f"{key} must be an object"
    return None


def _number(value: Any, low: float, high: float, integer: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if integer and not isinstance(value, int):
        return False
    return math.isfinite(value) and low <= value <= high


#: Ranges for the preprocessing numbers the loaders act on (key: low, high, integer).
_PREPROCESS_RANGES: dict[str, tuple[float, float, bool]] = {
    "size": (16, 1024, True), "resize_shorter": (16, 2048, True),
    "max_tokens": (1, 8192, True), "rescale_factor": (1e-6, 1.0, False),
}


def _numbers_problem(manifest: dict[str, Any]) -> str | None:
    """What is out of range among the numbers a loader acts on (None when all is sane)."""
    settings = manifest.get("preprocess") or {}
    for key, (low, high, integer) in _PREPROCESS_RANGES.items():
        if key in settings and not _number(settings[key], low, high, integer):
            return f"preprocess.{key} {str(settings[key])[:40]!r} is outside {low}..{high}"
    for key, low, high in (("mean", -255.0, 255.0), ("std", 1e-3, 255.0)):
        values = settings.get(key)
        if key in settings and (not isinstance(values, list) or len(values) != 3
                                or not all(_number(v, low, high) for v in values)):
            return f"preprocess.{key} must be three numbers in {low}..{high}"
    ngrams = settings.get("ngram_range")
    if "ngram_range" in settings and (
            not isinstance(ngrams, list) or len(ngrams) != 2
            or not all(_number(v, 1, 8, True) for v in ngrams) or ngrams[0] > ngrams[1]):
        return "preprocess.ngram_range must be two whole numbers 1 <= a <= b <= 8"
    if "analyzer" in settings and settings["analyzer"] not in ("char_wb", "char", "word"):
        return f"unknown preprocess.analyzer {str(settings['analyzer'])[:40]!r}"
    if not isinstance(settings.get("prefix", ""), str) or len(settings.get("prefix", "")) > 200:
        return "preprocess.prefix must be a short text"
    metrics = manifest.get("metrics") or {}
    for key in ("accuracy", "macro_f1", "ece"):
        if key in metrics and not _number(metrics[key], 0.0, 1.0):
            return f"metrics.{key} must be a number from 0 to 1"
    return None


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest in canonical JSON form, without its own digest."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST_KEY}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_manifest_digest(manifest: dict[str, Any], shown: str, damaged) -> None:
    stored = manifest.get(MANIFEST_DIGEST_KEY)
    if stored is None:
        log.info("%s has no manifest checksum (made by an older Taxon): loaded unsigned", shown)
        return
    if stored != manifest_digest(manifest):
        raise damaged("the manifest does not match its checksum")


def _check_files(folder: Path, manifest: dict[str, Any], shown: str | None = None) -> None:
    shown = shown or str(folder)
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise UserError(MSG_DAMAGED, details=f"{name} is missing", path=shown)
        if sha256_file(path) != digest:
            raise UserError(MSG_DAMAGED, details=f"{name} does not match its checksum", path=shown)


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
        _check_files(target, manifest)
    except UserError as error:
        raise UserError(MSG_DAMAGED_TARGET, details=f"{error.message} {error.details}",
                        path=str(target)) from error
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


def save_package(out_dir: str | os.PathLike[str], *, manifest: dict[str, Any],
                 tensors: Mapping[str, Any], evaluation: dict[str, Any] | None = None,
                 extra_files: Mapping[str, bytes] | None = None, card: str = "") -> Path:
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
        raise UserError(MSG_SAVE_HALF_DONE, details=str(error), path=str(target),
                        aside=str(error.aside)) from error
    except OSError as error:
        raise UserError(MSG_SAVE_FAILED, details=f"{type(error).__name__}: {error}",
                        path=str(target)) from error
    return target


def _payloads(manifest: dict[str, Any], tensors: Mapping[str, Any],
              evaluation: dict[str, Any] | None, extra_files: Mapping[str, bytes] | None,
              card: str) -> dict[str, bytes]:
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
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        package_swap.carry_files(target, staging, keep)
        _fsync_folder(staging)
        package_swap.swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if keep:
        log.info("kept %d file(s) of the user's in %s", len(keep), target)
    _fsync_folder(target.parent)


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
    """Zip a validated package into one ``.taxon-model`` file (see ``engine.package_archive``)."""
    from engine.package_archive import write_archive as write

    return write(package, out_file)


def open_archive(path: str | os.PathLike[str]) -> Path:
    """Unpack a ``.taxon-model`` file into the cache (see ``engine.package_archive``)."""
    from engine.package_archive import open_archive as unpack

    return unpack(path)
