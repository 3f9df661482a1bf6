"""The shared vector cache: hits and misses, newest wins, merging, damage tolerated."""

from __future__ import annotations

import numpy as np

from engine.core import vector_cache
from engine.core.vector_cache import VectorCache


def test_lookup_returns_stored_vectors_and_nan_for_the_rest(tmp_path):
    cache = VectorCache(tmp_path, 3)
    cache.store(["a" * 32, "b" * 32], np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    found = cache.lookup(["b" * 32, None, "c" * 32, "a" * 32])
    assert found[0].tolist() == [4, 5, 6] and found[3].tolist() == [1, 2, 3]
    assert np.isnan(found[1]).all() and np.isnan(found[2]).all()
    assert VectorCache.stored_width(tmp_path) == 3


def test_newest_entry_wins_and_merging_keeps_every_key(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_cache, "MAX_SHARDS", 2)
    cache = VectorCache(tmp_path, 2)
    cache.store(["k1"], np.array([[1, 1]], np.float32))
    cache.store(["k2" * 32], np.array([[2, 2]], np.float32))  # a longer key than the first
    cache.store(["k1"], np.array([[9, 9]], np.float32))  # recomputed: this one counts
    assert len(list(tmp_path.glob("*.keys.npy"))) <= 2
    assert cache.lookup(["k1", "k2" * 32]).tolist() == [[9, 9], [2, 2]]


def test_a_damaged_shard_is_skipped_not_fatal(tmp_path):
    cache = VectorCache(tmp_path, 2)
    cache.store(["good"], np.array([[1, 2]], np.float32))
    (tmp_path / "99999999999999999999-bad.keys.npy").write_bytes(b"not numpy")
    assert cache.lookup(["good"]).tolist() == [[1, 2]]
