"""The package manifest, ``taxon-model.json``: its format, and every check it must pass.

A package may come from someone else, so the manifest is validated before a
loader acts on anything in it: its structure, the file list (no absolute or
parent paths), every number a loader uses (an input size of 100000 would
exhaust the machine long before anything failed), its own checksum, and the
SHA-256 of every listed file. Both the folder loader (``engine.models.package``)
and the archive reader (``engine.models.package_archive``) use these checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.core.hashing import sha256_file
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.core.versioned_json import JsonFormat, read_versioned_json

log = logging.getLogger(__name__)

FORMAT = "taxon-model"
#: Written under ``format_version``, never ``version`` (see ``engine.core.versioned_json``).
FORMAT_VERSION = 1
_FORMAT = JsonFormat(FORMAT, newest=FORMAT_VERSION)
MANIFEST_NAME = "taxon-model.json"
MANIFEST_DIGEST_KEY = "manifest_sha256"
WEIGHTS_NAME = "model.safetensors"
EVALUATION_NAME = "evaluation.json"
CARD_NAME = "MODEL_CARD.md"
TASKS = ("image", "text")
#: File types that can carry a pickle (or code): never loaded, and a package holding one is refused.
UNSAFE_SUFFIXES = frozenset(
    {
        ".bin",
        ".pt",
        ".pth",
        ".pkl",
        ".pickle",
        ".ckpt",
        ".joblib",
        ".dill",
        ".npz",
        ".h5",
        ".py",
        ".pyc",
        ".so",
        ".dll",
        ".dylib",
    }
)
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_LABELS = 100_000
#: A package zipped into one file (what the installers associate with Taxon).
ARCHIVE_SUFFIX = ".taxon-model"

MSG_NOT_PACKAGE = N_("“{path}” is not a Taxon model: it has no {manifest} file.")
MSG_DAMAGED = N_("The model “{path}” is damaged and cannot be used.")
MSG_NEWER = N_("The model “{path}” was made by a newer version of Taxon. Update Taxon to use it.")
MSG_UNSAFE_FILE = N_(
    "The model “{path}” contains “{name}”, a kind of file that can run code. "
    "Taxon does not open such files; the model was not loaded."
)
MSG_LINK = N_(
    "The model “{path}” contains “{name}”, a link to somewhere else. Taxon does not "
    "follow links inside a model; the model was not loaded."
)
MSG_SAVE_FAILED = N_("Could not save the model to “{path}”. The previous model is unchanged.")


def read_manifest(folder: Path, manifest_path: Path, shown: str | None = None) -> dict[str, Any]:
    """The validated manifest of ``folder``; a ``UserError`` naming ``shown`` otherwise."""
    shown = shown or str(folder)
    try:
        if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
            raise UserError(
                MSG_DAMAGED, details=f"{manifest_path}: the manifest is too large", path=shown
            )
        data = manifest_path.read_bytes()
    except OSError as error:
        raise UserError(MSG_DAMAGED, details=f"{manifest_path}: {error}", path=shown) from error
    return parse_manifest(data, shown)


def parse_manifest(data: bytes, shown: str) -> dict[str, Any]:
    """Validate manifest bytes: format and version, structure, file list, every number a
    loader uses, and the manifest's own checksum (packages made before checksums load,
    logged as unsigned). Deep nesting is damage, not a crash."""

    def damaged(problem: str) -> UserError:
        return UserError(MSG_DAMAGED, details=f"{MANIFEST_NAME}: {problem}", path=shown)

    def newer(version: int) -> UserError:
        return UserError(MSG_NEWER, details=f"format_version {version}", path=shown)

    manifest = read_versioned_json(data, _FORMAT, damaged=damaged, newer=newer)
    problem = _structure_problem(manifest) or _numbers_problem(manifest)
    if problem:
        raise damaged(problem)
    _check_manifest_digest(manifest, shown, damaged)
    return manifest


def _structure_problem(manifest: dict[str, Any]) -> str | None:
    if manifest.get("task") not in TASKS:
        return f"unknown task {manifest.get('task')!r}"
    labels = manifest.get("labels")
    if (
        not isinstance(labels, list)
        or not 2 <= len(labels) <= MAX_LABELS
        or not all(isinstance(label, str) and label for label in labels)
        or len(set(labels)) != len(labels)
    ):
        return "labels must be two or more distinct non-empty strings"
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS_NAME not in files:
        return "the manifest lists no weights file"
    for name, digest in files.items():
        if (
            not isinstance(name, str)
            or not isinstance(digest, str)
            or len(digest) != 64
            or not name
            or Path(name).is_absolute()
            or ".." in Path(name).parts
            or "\\" in name
            or ":" in name
            or name == MANIFEST_NAME
        ):
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
    "size": (16, 1024, True),
    "resize_shorter": (16, 2048, True),
    "max_tokens": (1, 8192, True),
    "rescale_factor": (1e-6, 1.0, False),
}


def _numbers_problem(manifest: dict[str, Any]) -> str | None:
    """What is out of range among the numbers a loader acts on (None when all is sane)."""
    settings = manifest.get("preprocess") or {}
    for key, (low, high, integer) in _PREPROCESS_RANGES.items():
        if key in settings and not _number(settings[key], low, high, integer):
            return f"preprocess.{key} {str(settings[key])[:40]!r} is outside {low}..{high}"
    for key, low, high in (("mean", -255.0, 255.0), ("std", 1e-3, 255.0)):
        values = settings.get(key)
        if key in settings and (
            not isinstance(values, list)
            or len(values) != 3
            or not all(_number(v, low, high) for v in values)
        ):
            return f"preprocess.{key} must be three numbers in {low}..{high}"
    ngrams = settings.get("ngram_range")
    if "ngram_range" in settings and (
        not isinstance(ngrams, list)
        or len(ngrams) != 2
        or not all(_number(v, 1, 8, True) for v in ngrams)
        or ngrams[0] > ngrams[1]
    ):
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


def check_files(folder: Path, manifest: dict[str, Any], shown: str | None = None) -> None:
    shown = shown or str(folder)
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise UserError(MSG_DAMAGED, details=f"{name} is missing", path=shown)
        if sha256_file(path) != digest:
            raise UserError(MSG_DAMAGED, details=f"{name} does not match its checksum", path=shown)
