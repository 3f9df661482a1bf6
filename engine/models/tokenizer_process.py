"""The multilingual tokenizer in a helper process, so building it never freezes a window.

Building the XLM-R tokenizer (250,002 pieces, a 17 MB ``tokenizer.json``) happens inside
the ``tokenizers`` library's Rust code, which holds Python's global lock for 0.7–1.5 s
(and ``json.loads`` of the file another 0.5 s). On a worker thread that still stops
every other Python thread, the window's included: measured gaps of 0.5–1.4 s. In a
helper process it costs the calling thread only the wait, and the window none.

The helper is one process, started on first use with the same start method as the
image decode workers (``engine.models.inference``) and kept for the session; each call sends
texts and gets token ids back. A helper that died is replaced on the next call.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

_lock = threading.Lock()
_executor: Executor | None = None


def _pool() -> Executor:
    global _executor
    with _lock:
        if _executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            from engine.core.workers import start_method

            _executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(start_method())
            )
        return _executor


def call(fn, *args):
    """``fn(*args)`` in the helper process (``fn`` must be a module-level function)."""
    global _executor
    for attempt in range(2):
        pool = _pool()
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:  # the helper died (killed, out of memory): start another
            with _lock:
                if _executor is pool:
                    _executor = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def shutdown() -> None:
    """Stop the helper (it is started again when needed)."""
    global _executor
    with _lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


class HelperTokenizer:
    """A folder's fast tokenizer (``tokenizer.json``) used through the helper process: what
    a fine-tuned text model and its training need from transformers' ``AutoTokenizer``
    (ids with special tokens, truncated; the padding id), without building it here."""

    def __init__(self, path: str, pad_id: int) -> None:
        self.path, self.pad_id = path, pad_id

    def encode(self, texts: list[str], max_length: int) -> list[list[int]]:
        return call(encode, self.path, texts, max_length)


def helper_tokenizer(folder: Path) -> HelperTokenizer | None:
    """The helper's tokenizer for ``folder``, or None where only transformers can build it
    (no ``tokenizer.json``, or no padding token named in ``tokenizer_config.json`` or
    ``special_tokens_map.json``): the caller then uses ``AutoTokenizer``."""
    path = folder / "tokenizer.json"
    token = _pad_token(folder)
    if token is None or not path.is_file():
        return None
    pad_id = call(load, str(path), token)
    return None if pad_id is None else HelperTokenizer(str(path), int(pad_id))


def _pad_token(folder: Path) -> str | None:
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            token = json.loads((folder / name).read_text(encoding="utf-8")).get("pad_token")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(token, dict):
            token = token.get("content")
        if isinstance(token, str) and token:
            return token
    return None


# --------------------------------------------------------------------------- in the helper

_tokenizers: dict[str, object] = {}


def _tokenizer(path: str):
    tokenizer = _tokenizers.get(path)
    if tokenizer is None:
        from tokenizers import Tokenizer

        tokenizer = _tokenizers[path] = Tokenizer.from_file(path)
    return tokenizer


def load(path: str, token: str) -> int | None:
    """Build the tokenizer of ``tokenizer.json`` at ``path``; the id of ``token`` (padding)."""
    return _tokenizer(path).token_to_id(token)


def encode(path: str, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids with the special tokens, truncated to ``max_length`` as transformers'
    ``tokenizer(texts, truncation=True, max_length=max_length)`` does (never padded: a
    ``tokenizer.json`` may have been saved with padding on)."""
    tokenizer = _tokenizer(path)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return [encoding.ids for encoding in tokenizer.encode_batch(texts)]
