"""A Hugging Face model folder the user picked, checked before anything in it is loaded.

A model folder from the internet is someone else's code and data. transformers
can run Python from it (``auto_map`` + ``trust_remote_code``) and PyTorch's
``.bin``/``.pt`` weights are pickles, which run code when read. So a folder is
inspected as plain files first, and refused with a message naming the file when
it would need either; only JSON is parsed and only the safetensors header is
read. Every later load passes ``local_files_only=True``, ``use_safetensors=True``
and never ``trust_remote_code``.

A valid folder becomes a ``LocalModel`` whose ``id`` (model type + a hash of the
safetensors files) keys the feature caches and pins the trained heads: edited
weights are a different model, never served stale features.

``engine.models.backbones.tiny_models`` writes random-initialised folders of
the same shape as real ones (seconds to build, kilobytes on disk) for tests and
benchmarks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.memo import StatMemo, stat_key

log = logging.getLogger(__name__)

__all__ = [
    "LocalModel",
    "hidden_size",
    "inspect_folder",
    "load_failed",
    "load_text_model",
    "quiet_transformers",
    "token_limit",
]

TASKS = ("text", "image")
CONFIG = "config.json"
PROCESSOR = "preprocessor_config.json"
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
#: Vocabulary files that, with tokenizer_config.json, make a tokenizer.
VOCAB_FILES = (
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "spm.model",
    "tokenizer.model",
    "source.spm",
)
#: Weight formats that are pickles (reading them can run code).
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: JSON files larger than this are data (vocabularies), not settings: not parsed.
MAX_SETTINGS_BYTES = 8 * 1024 * 1024
#: Folders deeper than this are not searched for ``.py`` files (a model folder is flat).
MAX_DEPTH = 3
#: Text models whose position table starts after the padding index (RoBERTa style).
OFFSET_POSITIONS = frozenset(
    {
        "roberta",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "data2vec-text",
        "longformer",
        "mpnet",
        "roberta-prelayernorm",
    }
)

MSG_NOT_FOLDER = N_(
    "“{path}” is not a folder. Choose the folder that holds the model’s config.json."
)
MSG_NO_CONFIG = N_(
    "The folder “{path}” has no config.json, so it is not a Hugging Face model folder."
)
MSG_BAD_JSON = N_("The file “{name}” in “{path}” is damaged: it is not valid JSON.")
MSG_UNKNOWN_TYPE = N_(
    "The model in “{path}” is of type “{type}”, which this version of Taxon "
    "does not know (config.json, “model_type”)."
)
MSG_PICKLE = N_(
    "This folder’s weights (“{name}”) are in the pickle format, which can run code; "
    "Taxon does not open them. Convert them to safetensors first."
)
MSG_CUSTOM_CODE = N_(
    "The model in “{path}” needs custom code (trust_remote_code, see “{name}”), "
    "which Taxon never runs."
)
MSG_NO_SAFETENSORS = N_(
    "The folder “{path}” has no weights in the safetensors format (*.safetensors)."
)
MSG_DAMAGED_WEIGHTS = N_("The weights file “{name}” in “{path}” is damaged or incomplete.")
MSG_NO_TOKENIZER = N_(
    "The folder “{path}” has no tokenizer (tokenizer.json, or "
    "tokenizer_config.json with a vocabulary file), so it cannot read text."
)
MSG_NO_PROCESSOR = N_(
    "The folder “{path}” has no preprocessor_config.json, so Taxon does not "
    "know how this model expects its images."
)
MSG_LOAD_FAILED = N_("The model in “{path}” could not be loaded.")
MSG_CHECKING = N_("Checking the model folder…")

#: SHA-256 over a folder's weight files, per (path, size, mtime) of every file.
_hashes: StatMemo[str] = StatMemo(64)


@dataclass(frozen=True)
class LocalModel:
    """A validated local model folder."""

    path: Path
    task: str  # "text" or "image"
    model_type: str  # config.json "model_type"
    weights_sha256: str  # SHA-256 over the safetensors files, sorted by name
    name: str  # the folder's name, for display

    @property
    def id(self) -> str:
        """What cached features and trained heads depend on: the architecture and the weights."""
        return f"{self.model_type}-{self.weights_sha256[:16]}"


# --------------------------------------------------------------------------- inspection


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UserError(
            MSG_BAD_JSON, details=f"{type(error).__name__}: {error}", name=name, path=str(folder)
        ) from error
    if not isinstance(data, dict):
        raise UserError(MSG_BAD_JSON, details="not a JSON object", name=name, path=str(folder))
    return data


def _settings_files(folder: Path) -> list[Path]:
    """The folder's JSON settings files (config, tokenizer and processor configs...)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        if path.name in (TOKENIZER, "vocab.json") or not path.is_file():
            continue
        if path.stat().st_size <= MAX_SETTINGS_BYTES:
            out.append(path)
    return out


def _python_files(folder: Path) -> Iterator[Path]:
    """``.py`` files in the folder and its (non-hidden) sub-folders."""
    base_depth = len(folder.parts)
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).parts) - base_depth
        dirs[:] = [] if depth >= MAX_DEPTH else [d for d in dirs if not d.startswith(".")]
        for name in sorted(files):
            if name.lower().endswith((".py", ".pyc")):
                yield Path(root) / name


def _refuse_custom_code(folder: Path) -> None:
    for path in _settings_files(folder):
        data = _read_json(folder, path.name)
        if "auto_map" in data:
            raise UserError(
                MSG_CUSTOM_CODE,
                details=f"{path.name}: auto_map={data['auto_map']!r}"[:500],
                path=str(folder),
                name=path.name,
            )
    for path in _python_files(folder):
        raise UserError(
            MSG_CUSTOM_CODE, details=str(path), path=str(folder), name=str(path.relative_to(folder))
        )


def _check_safetensors_header(folder: Path, path: Path) -> None:
    """The header is JSON that fits in the file (a truncated download fails here, cheaply)."""

    def damaged(problem: str) -> UserError:
        return UserError(
            MSG_DAMAGED_WEIGHTS, details=f"{path.name}: {problem}", name=path.name, path=str(folder)
        )

    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise damaged("shorter than its header")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(size - 8, 100 * 1024 * 1024):
                raise damaged(f"header length {length} does not fit")
            header = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise damaged(f"{type(error).__name__}: {error}") from error
    if not isinstance(header, dict):
        raise damaged("the header is not a JSON object")
    end = max(
        (
            int(entry["data_offsets"][1])
            for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
        ),
        default=0,
    )
    if 8 + length + end > size:
        raise damaged(f"tensors end at byte {8 + length + end}, the file has {size}")


def _weights_sha256(files: Sequence[Path], progress: Progress, cancel: CancelToken) -> str:
    """SHA-256 over the files' bytes in name order; remembered per (path, size, mtime)."""
    stats = tuple(stat_key(p.resolve()) for p in files)
    remembered = _hashes.get(stats)
    if remembered is not None:
        return remembered
    digest = hashlib.sha256()
    total = sum(size for _path, size, _mtime in stats)
    done = 0
    for path in files:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):  # noqa: B023 - used at once
                cancel.raise_if_cancelled()
                digest.update(block)
                done += len(block)
                progress(done, total, _(MSG_CHECKING))
    value = digest.hexdigest()
    _hashes.put(stats, value)
    return value


def _has_tokenizer(folder: Path) -> bool:
    if (folder / TOKENIZER).is_file():
        return True
    return (folder / TOKENIZER_CONFIG).is_file() and any(
        (folder / name).is_file() for name in VOCAB_FILES
    )


def inspect_folder(
    path: str | os.PathLike[str],
    task: str,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> LocalModel:
    """Validate a local model folder for ``task`` ("text" or "image") without loading it.

    Raises ``UserError`` with a message naming the problem: not a folder, no or
    damaged config.json, a model type transformers does not know, custom code
    (``auto_map`` or ``.py`` files), only pickled weights, no safetensors, no
    tokenizer (text) or image processor (image).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    cancel = cancel or CancelToken()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UserError(MSG_NOT_FOLDER, path=str(folder))
    folder = folder.resolve()
    if not (folder / CONFIG).is_file():
        raise UserError(MSG_NO_CONFIG, path=str(folder))
    config = _read_json(folder, CONFIG)
    _refuse_custom_code(folder)  # before the type check: custom code is the likelier story
    model_type = config.get("model_type")
    from transformers import CONFIG_MAPPING

    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise UserError(
            MSG_UNKNOWN_TYPE,
            details=f"model_type={model_type!r}",
            path=str(folder),
            type=model_type if isinstance(model_type, str) else "?",
        )
    weights = sorted(p for p in folder.glob("*.safetensors") if p.is_file())
    if not weights:
        pickles = sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES),
            key=lambda p: (p.name != "pytorch_model.bin", p.name),
        )
        if pickles:
            raise UserError(MSG_PICKLE, details=str(pickles[0]), name=pickles[0].name)
        raise UserError(MSG_NO_SAFETENSORS, path=str(folder))
    if task == "text" and not _has_tokenizer(folder):
        raise UserError(MSG_NO_TOKENIZER, path=str(folder))
    if task == "image" and not (folder / PROCESSOR).is_file():
        raise UserError(MSG_NO_PROCESSOR, path=str(folder))
    for file in weights:
        _check_safetensors_header(folder, file)
    sha = _weights_sha256(weights, progress, cancel)
    return LocalModel(folder, task, model_type, sha, folder.name)


# --------------------------------------------------------------------------- loading helpers


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or load reports from transformers on stderr (they would cut
    through the command line's own bar); warnings still go to the log."""
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def load_failed(folder: Path, error: BaseException) -> UserError:
    """The error shown when transformers cannot build a model from a validated folder."""
    return UserError(
        MSG_LOAD_FAILED, details=f"{type(error).__name__}: {error}"[:2000], path=str(folder)
    )


#: What transformers raises for a folder it cannot build (a bad tokenizer class, shapes...).
LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, ImportError)


def hidden_size(model: LocalModel) -> int:
    """The width of the model's hidden states (its feature vectors), from its config."""
    from transformers import AutoConfig

    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(
                model.path, local_files_only=True, trust_remote_code=False
            )
        return int(config.hidden_size)
    except LOAD_ERRORS as error:
        raise load_failed(model.path, error) from error


def load_text_model(model: LocalModel, cancel: CancelToken | None = None) -> tuple[Any, Any]:
    """(tokenizer, ``AutoModel`` on the CPU in eval mode) of a validated text folder:
    offline, safetensors only, never custom code."""
    from transformers import AutoModel, AutoTokenizer

    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(
                model.path, local_files_only=True, trust_remote_code=False
            )
            if cancel is not None:
                cancel.raise_if_cancelled()
            network = AutoModel.from_pretrained(
                model.path, local_files_only=True, use_safetensors=True, trust_remote_code=False
            )
    except LOAD_ERRORS as error:
        raise load_failed(model.path, error) from error
    return tokenizer, network.eval()


def token_limit(config: Any, tokenizer: Any, cap: int = 512) -> int:
    """The most tokens per text that the position table and the tokenizer allow (<= ``cap``)."""
    limit = cap
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", "") in OFFSET_POSITIONS:
            pad = getattr(config, "pad_token_id", None)  # positions start after it
            positions -= (int(pad) if pad is not None else 1) + 1
        limit = min(limit, positions)
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and model_max > 0:
        limit = min(limit, model_max)
    return max(8, limit)
