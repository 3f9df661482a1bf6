"""A disk cache of vectors keyed by content hashes: image features, text embeddings.

Computing a vector (decode + network) is the slow part of the data checks and of
every fast-mode training, so vectors are kept in a folder per model as pairs of
``.npy`` files (keys, float32 vectors), one pair per wave of new items, written
atomically with the keys file last (a half-written pair is never seen). When
the pairs become many they are merged into one. ``allow_pickle=False``
everywhere: the cache is data, never code. A full or read-only cache folder only
costs speed.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.core.atomic import write_atomic

log = logging.getLogger(__name__)

#: Merge the shards when there are more than this many.
MAX_SHARDS = 32
_lock = threading.Lock()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class VectorCache:
    """Vectors of width ``dim`` in ``folder``, keyed by ASCII hashes (hex digests)."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dim = dim

    @staticmethod
    def stored_width(folder: Path) -> int | None:
        """The width of the vectors already in ``folder`` (None when it holds none), for
        models whose output width is only known once they are loaded."""
        for keys_file in sorted(Path(folder).glob("*.keys.npy"), reverse=True):
            try:
                vectors = np.load(
                    VectorCache._vectors_file(keys_file), mmap_mode="r", allow_pickle=False
                )
                return int(vectors.shape[1])
            except (OSError, ValueError, IndexError):
                continue
        return None

    def _shards(self) -> list[Path]:
        """Complete shards (the keys file is written last), oldest first."""
        return sorted(self.folder.glob("*.keys.npy"))

    @staticmethod
    def _vectors_file(keys_file: Path) -> Path:
        return keys_file.with_name(keys_file.name.replace(".keys.npy", ".f32.npy"))

    def lookup(self, keys: Sequence[str | bytes | None]) -> np.ndarray:
        """(len(keys), dim) cached vectors; NaN rows where missing (or the key is None)."""
        import pandas as pd

        out = np.full((len(keys), self.dim), np.nan, dtype=np.float32)
        wanted = pd.Index([(k.encode("ascii") if isinstance(k, str) else k) or b"" for k in keys])
        for shard in reversed(self._shards()):  # newest first: a re-computed entry wins
            missing = np.flatnonzero(np.isnan(out[:, 0]) & (wanted != b""))
            if len(missing) == 0:
                break
            try:
                rows = pd.Index(np.load(shard, allow_pickle=False)).get_indexer(wanted[missing])
                hit = rows >= 0
                if hit.any():
                    vectors = np.load(self._vectors_file(shard), mmap_mode="r", allow_pickle=False)
                    if vectors.shape[1] == self.dim:
                        out[missing[hit]] = vectors[rows[hit]]
            except (OSError, ValueError):  # merged away by another process, or damaged
                log.debug("Skipping cache shard %s", shard, exc_info=True)
        return out

    def store(self, keys: Sequence[str | bytes], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        encoded = np.array([k.encode("ascii") if isinstance(k, str) else k for k in keys])
        with _lock:
            try:
                self._write(encoded, np.asarray(vectors, dtype=np.float32))
                self._compact()
            except (OSError, ValueError):
                log.warning("Cannot write the vector cache in %s", self.folder, exc_info=True)

    def _write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        stem = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        write_atomic(self.folder / f"{stem}.f32.npy", _npy_bytes(vectors.astype(np.float32)))
        write_atomic(self.folder / f"{stem}.keys.npy", _npy_bytes(keys))

    def _compact(self) -> None:
        """Merge all shards into one once there are more than ``MAX_SHARDS``."""
        shards = self._shards()
        if len(shards) <= MAX_SHARDS:
            return
        keys, vectors = [], []
        for shard in shards:
            try:
                keys.append(np.load(shard, allow_pickle=False))
                vectors.append(np.load(self._vectors_file(shard), allow_pickle=False))
            except (OSError, ValueError):
                continue
        if not keys:
            return
        width = max(k.dtype.itemsize for k in keys)
        all_keys = np.concatenate([k.astype(f"S{width}") for k in keys])[::-1]  # newest first
        all_vectors = np.concatenate(vectors)[::-1]
        _unique, first = np.unique(all_keys, return_index=True)  # the newest of each key
        self._write(all_keys[first], all_vectors[first])
        for shard in shards:
            for path in (shard, self._vectors_file(shard)):
                path.unlink(missing_ok=True)
