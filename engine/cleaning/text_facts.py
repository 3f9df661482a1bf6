"""What every text check needs to know about a text column, computed once per frame.

The checks share one ``TextFacts`` per frame: the tidied texts, comparison keys,
which rows share a key, exact-text codes among those, label codes. All of it is
computed with pyarrow kernels over whole columns (threaded where it pays) and
integer codes, so a million rows never pass through a Python loop. Frames are
treated as immutable (fixes make new ones), which is what makes the cache safe.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.cleaning.common import label_codes, per_frame
from engine.cleaning.label_checks import label_variants
from engine.data.datasets import ITEM, Dataset
from engine.data.textnorm import NormalizedColumn, comparison_keys, normalize_column, to_arrow

__all__ = ["TextFacts", "text_facts"]


class TextFacts:
    """What every text check needs, computed lazily once per frame.

    Everything is per row: the element-wise passes cost about the same per row as
    per distinct text when most texts are distinct (the usual case), and skipping a
    hash pass over all texts saves more. Exact equality is only resolved among the
    rows that share a comparison key, the only ones that can be exact duplicates.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.text: pa.Array = to_arrow(frame[ITEM])
        self.labels, self.label_names, self.label_missing = label_codes(frame)
        self._cache: dict[str, Any] = {}

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """Memoise a derived fact (e.g. the language profile) alongside these."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    @cached_property
    def normalized(self) -> NormalizedColumn:
        return normalize_column(self.text)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Characters per row after tidying (0 for missing, blank or invisible-only)."""
        return pc.utf8_length(self.normalized.text).to_numpy(zero_copy_only=False)

    @cached_property
    def blank(self) -> np.ndarray:
        return self.lengths == 0

    @cached_property
    def keys(self) -> np.ndarray:
        """Comparison-key code per row (numbered in order of first appearance), -1 for
        rows without text or whose text is only punctuation."""
        encoded = pc.dictionary_encode(comparison_keys(self.normalized))
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        empty = pc.equal(encoded.dictionary, "").to_numpy(zero_copy_only=False)
        codes[empty[codes]] = -1
        return codes

    @cached_property
    def representatives(self) -> np.ndarray:
        """The first row of each key (codes count up in order of first appearance)."""
        rows = np.flatnonzero(self.keys >= 0)
        keys = self.keys[rows]
        first = keys > np.r_[-1, np.maximum.accumulate(keys)[:-1]]
        out = np.full(int(keys.max(initial=-1)) + 1, -1, dtype=np.int64)
        out[keys[first]] = rows[first]
        return out

    @cached_property
    def shared(self) -> np.ndarray:
        """Rows whose comparison key at least one other row has: the only candidates
        for any kind of duplicate or conflict (usually a small minority)."""
        keys = self.keys
        sizes = np.bincount(keys[keys >= 0])
        return (keys >= 0) & (sizes[np.maximum(keys, 0)] > 1)

    @cached_property
    def spellings(self) -> np.ndarray:
        """Exact-text code per row for the rows that may have an exact twin (a shared
        key, or punctuation-only text); -1 for every other row, which is unique."""
        candidates = np.flatnonzero(self.shared | ((self.keys < 0) & ~self.blank))
        out = np.full(len(self.keys), -1, dtype=np.int64)
        if len(candidates):
            encoded = pc.dictionary_encode(self.text.take(pa.array(candidates)))
            out[candidates] = encoded.indices.to_numpy(zero_copy_only=False)
        return out

    @cached_property
    def merged_labels(self) -> np.ndarray:
        """Label codes with the suggested spelling variants merged ("Sports " counts as
        "sports"), so a text is only "conflicting" over genuinely different labels."""
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.label_names))
        mapping = label_variants(dict(zip(self.label_names, counts.tolist(), strict=True)))
        if not mapping:
            return self.labels
        code = {name: i for i, name in enumerate(self.label_names)}
        remap = np.arange(len(self.label_names))
        for spelling, canonical in mapping.items():
            remap[code[spelling]] = code[canonical]
        return np.where(self.labels >= 0, remap[np.maximum(self.labels, 0)], -1)


def text_facts(dataset: Dataset) -> TextFacts:
    """The shared facts for this dataset's frame (recomputed for a new frame)."""
    return per_frame(dataset.frame, "text_facts", lambda: TextFacts(dataset.frame))
