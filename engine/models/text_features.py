"""Text embeddings from the built-in multilingual-e5-small (or a local model), cached on disk.

The text checks and the fast text trainer need one 384-wide vector per text,
and the network is the slow part, so vectors are cached in
``user_cache_dir()/text-features/<model id>-v<format>/`` keyed by the SHA-256 of
the text: the same sentence in another file, row or project is not computed
again. The model id carries the converted weights' hash, so vectors from other
weights are never served. Shards are pairs of ``.npy`` files (keys, float32
vectors) written atomically, one per wave of new texts, so a cancelled run
keeps what it finished; they are merged when they become many.

The recipe is e5's: ``"query: "`` before each text, at most 512 tokens
(longer texts are truncated), mean pooling over real tokens, L2 normalisation.
Texts are sorted by token count before batching, so a batch pads to similar
lengths; that, not a different network, is where the speed comes from.

Any other folder is a local Hugging Face model the user picked: it is validated
by ``engine.models.backbones.local_folder.inspect_folder`` (no custom code, no
pickles), read without a prefix, mean-pooled and L2-normalised the same way,
and cached under its ``LocalModel.id`` (model type + weights hash) with its own
width.

torch and transformers are imported inside the functions: importing this
module must stay cheap.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, Throttle, UserError, no_progress
from engine.core.paths import user_cache_dir
from engine.core.vector_cache import VectorCache
from engine.models.backbones.e5 import MANIFEST, MSG_BROKEN, e5_folder, model_id, verify_folder

log = logging.getLogger(__name__)

__all__ = ["FEATURE_DIM", "TextEncoder", "cache_folder", "release_encoders", "text_features"]

FEATURE_DIM = 384
MAX_TOKENS = 512
PREFIX = "query: "
CACHE_FORMAT = 1
#: Texts computed (and cached) per wave: what a cancel can lose at most.
WAVE_SIZE = 1024
#: On the CPU a batch holds at most this many tokens (padding included), so that a
#: batch of long texts still finishes, and can be cancelled, within about a second.
CPU_TOKEN_BUDGET = 4096
#: Texts tokenised per call (a cancel point between calls).
TOKENIZE_CHUNK = 2048

MSG_PREPARING = N_("Loading the multilingual text model…")
MSG_EMBEDDING = N_("Reading the texts with the language model…")

_encoders_lock = threading.Lock()
_encoders: dict[tuple[str, str], TextEncoder] = {}


def _clean(text: Any) -> str:
    """A str the tokenizer accepts (lone surrogates from a bad decode become U+FFFD)."""
    text = "" if text is None else str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def is_e5_folder(folder: Path) -> bool:
    """A converted e5 folder carries Taxon's checksum manifest; any other is a local model."""
    return (Path(folder) / MANIFEST).is_file()


class TextEncoder:
    """multilingual-e5-small (or a validated local model) on one torch device: texts in,
    unit vectors out."""

    def __init__(
        self,
        folder: Path | None = None,
        device: str = "cpu",
        progress: Progress = no_progress,
        cancel: CancelToken | None = None,
    ) -> None:
        cancel = cancel or CancelToken()
        self.local = None  # the LocalModel of a folder that is not e5
        if folder is None:
            folder = e5_folder(progress, cancel)
        elif not is_e5_folder(Path(folder)):
            from engine.models.backbones.local_folder import inspect_folder

            self.local = inspect_folder(folder, "text", progress, cancel)
            folder = self.local.path
        elif not verify_folder(Path(folder)):
            raise UserError(MSG_BROKEN, details=f"checksum mismatch in {folder}")
        self.folder = Path(folder)
        self.prefix = PREFIX if self.local is None else ""
        progress(0, None, _(MSG_PREPARING))
        cancel.raise_if_cancelled()
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        self.device = torch.device(_torch_device(device))
        self._tokenizer = None
        self._helper_path: str | None = None  # e5: tokenized in the helper process
        if self.local is not None:
            from engine.models.backbones.local_folder import load_text_model

            self._tokenizer, model = load_text_model(self.local, cancel)
            pad = self._tokenizer.pad_token_id
        else:
            from engine.models import tokenizer_process

            # Built in the helper process: in this one it would hold the GIL for a second
            # and freeze the window (see engine.models.tokenizer_process).
            self._helper_path = str(self.folder / "tokenizer.json")
            pad = tokenizer_process.call(tokenizer_process.load, self._helper_path, "<pad>")
            cancel.raise_if_cancelled()
            bar = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # its own bar on stderr would cut through the CLI's
            try:
                model = AutoModel.from_pretrained(self.folder, local_files_only=True)
            finally:
                if bar:
                    hf_logging.enable_progress_bar()
        self.model = model.to(self.device).eval()
        self.dim = FEATURE_DIM if self.local is None else int(self.model.config.hidden_size)
        self.max_tokens = MAX_TOKENS
        if self.local is not None:
            from engine.models.backbones.local_folder import token_limit

            self.max_tokens = token_limit(self.model.config, self._tokenizer, MAX_TOKENS)
        self.pad_id = int(pad) if pad is not None else 0
        self._job = threading.local()
        for layer in _layers(self.model):
            layer.register_forward_pre_hook(self._between_layers)

    def _between_layers(self, *_args: Any) -> None:
        """Cancel and a progress heartbeat inside a batch: a batch of long texts on a
        slow CPU takes seconds, one layer a twelfth of that."""
        job = getattr(self._job, "state", None)
        if job is None:
            return
        progress, cancel, done, total, throttle = job
        cancel.raise_if_cancelled()
        if throttle.due():
            progress(done, total, _(MSG_EMBEDDING))

    @property
    def tokenizer(self):
        """The transformers tokenizer (for an export; e5 builds it here on first use)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
        return self._tokenizer

    def tokenize(self, texts: Sequence[str], cancel: CancelToken | None = None) -> list[list[int]]:
        """Token ids of ``"query: " + text`` (e5; a local model gets no prefix), with
        ``<s>``/``</s>``, at most 512."""
        out: list[list[int]] = []
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = [self.prefix + _clean(text) for text in texts[start : start + TOKENIZE_CHUNK]]
            if self._helper_path is not None:
                from engine.models import tokenizer_process

                out.extend(
                    tokenizer_process.call(
                        tokenizer_process.encode, self._helper_path, chunk, self.max_tokens
                    )
                )
            else:
                out.extend(
                    self._tokenizer(chunk, truncation=True, max_length=self.max_tokens)["input_ids"]
                )
        return out

    def _batches(self, lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
        """Index batches, longest texts first, each padded to similar lengths."""
        order = np.argsort(-lengths, kind="stable")
        budget = CPU_TOKEN_BUDGET if self.device.type == "cpu" else None
        batches, start = [], 0
        while start < len(order):
            size = batch_size
            if budget is not None:
                size = max(1, min(batch_size, budget // max(1, int(lengths[order[start]]))))
            batches.append(order[start : start + size])
            start += size
        return batches

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """One padded batch through the network: mean-pooled, L2-normalised vectors."""
        import torch

        width = max(len(row) for row in ids)
        batch = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, tokens in enumerate(ids):
            batch[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        input_ids = torch.from_numpy(batch).to(self.device)
        attention = torch.from_numpy(mask).to(self.device)
        with torch.inference_mode():
            hidden = self.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            weights = attention.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().cpu().numpy()

    def encode(
        self,
        texts: Sequence[str],
        progress: Progress = no_progress,
        cancel: CancelToken | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors (a local model: its hidden size), in the
        order of ``texts``."""
        cancel = cancel or CancelToken()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        ids = self.tokenize(list(texts), cancel)
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        done = 0
        try:
            for batch in self._batches(lengths, max(1, int(batch_size))):
                cancel.raise_if_cancelled()
                self._job.state = (
                    progress,
                    cancel,
                    done,
                    len(texts),
                    Throttle(0.5, wait_first=True),
                )
                out[batch] = self._forward([ids[i] for i in batch])
                done += len(batch)
                progress(done, len(texts), _(MSG_EMBEDDING))
        finally:
            self._job.state = None
        return out


def _layers(model: Any) -> list[Any]:
    """The encoder's transformer blocks, where cancel is checked during a forward pass."""
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "layer"):
        return list(encoder.layer)
    import torch

    for module in model.modules():  # DistilBERT's transformer.layer, others' layers
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            return list(module)
    return []


def _torch_device(device: str) -> str:
    from engine.core.devices import DEVICE_CHOICES, select_device

    if device in DEVICE_CHOICES:
        return select_device(device).torch_device
    return device


def _encoder(folder: Path, device: str, progress: Progress, cancel: CancelToken) -> TextEncoder:
    """The encoder for ``folder`` on ``device``, loaded once and kept (loading takes seconds).
    A local folder whose weights changed on disk is loaded again."""
    key: tuple[str, ...] = (str(folder), _torch_device(device))
    if not is_e5_folder(folder):
        key += (_model_key(folder, progress, cancel)[0],)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = TextEncoder(folder, key[1], progress, cancel)
        return _encoders[key]


def release_encoders() -> None:
    """Forget the loaded encoders (frees ~0.5 GB each once no one else holds them)."""
    with _encoders_lock:
        _encoders.clear()


# --------------------------------------------------------------------------- the disk cache


def _model_key(
    folder: Path, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> tuple[str, int]:
    """(cache id, vector width) of the model in ``folder``: e5's model id and 384, or a
    validated local folder's ``LocalModel.id`` and hidden size."""
    if is_e5_folder(folder):
        return model_id(folder), FEATURE_DIM
    from engine.models.backbones.local_folder import hidden_size, inspect_folder

    local = inspect_folder(folder, "text", progress, cancel)
    return local.id, hidden_size(local)


def _cache_path(cache_id: str) -> Path:
    path = user_cache_dir() / "text-features" / f"{cache_id}-v{CACHE_FORMAT}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_folder(folder: Path) -> Path:
    """Where vectors of the model in ``folder`` are cached."""
    return _cache_path(_model_key(Path(folder))[0])


def _text_keys(texts: Sequence[Any], cancel: CancelToken) -> list[bytes]:
    keys = []
    for index, text in enumerate(texts):
        if index % 20000 == 0:
            cancel.raise_if_cancelled()
        data = _clean(text).encode("utf-8")
        keys.append(hashlib.sha256(data).hexdigest().encode("ascii"))
    return keys


# --------------------------------------------------------------------------- the job


def text_features(
    texts: Sequence[str],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    folder: Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> np.ndarray:
    """(len(texts), 384) float32 e5 vectors (unit length), cached by text.

    ``folder``: a converted e5 folder (default: the built-in one, converted on
    first use), or a local Hugging Face text model folder (validated; vectors
    as wide as its hidden size). Identical texts are computed once; new ones in
    waves that are cached as they finish, so a cancelled run keeps its finished
    waves.
    """
    cancel = cancel or CancelToken()
    texts = list(texts)
    if folder is None:
        folder = e5_folder(progress, cancel)
    keys = _text_keys(texts, cancel)
    cache_id, dim = _model_key(Path(folder), progress, cancel)
    store = _cache_path(cache_id)
    cache = VectorCache(store, dim)
    out = cache.lookup(keys)
    first_of: dict[bytes, int] = {}
    for index in np.flatnonzero(np.isnan(out[:, 0])):
        first_of.setdefault(keys[index], int(index))
    unique = list(first_of.values())
    if unique:
        progress(0, len(unique), _(MSG_PREPARING))
        encoder = _encoder(Path(folder), device, progress, cancel)
        for start in range(0, len(unique), WAVE_SIZE):
            wave = unique[start : start + WAVE_SIZE]

            def report(done: int, total: int | None, message: str, _base: int = start) -> None:
                progress(_base + done, len(unique), message)

            vectors = encoder.encode([texts[i] for i in wave], report, cancel, batch_size)
            out[wave] = vectors
            cache.store([keys[i] for i in wave], vectors)
        for index in np.flatnonzero(np.isnan(out[:, 0])):  # copies of a text computed above
            out[index] = out[first_of[keys[index]]]
    progress(len(texts), len(texts), _(MSG_EMBEDDING))
    return out
