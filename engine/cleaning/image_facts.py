"""What every image check needs to know about the files, computed once.

Reading and decoding every image is by far the slowest part of checking an image
dataset, so it happens once per frame (``per_frame``), in worker processes
(``engine.data.image_pool``), and each file's fingerprint is also remembered by (path,
size, modification time): after a fix builds a new frame, or when the user checks
again, unchanged files are not read again. ``near_groups`` (the near-duplicate
search) is cached alongside, because three checks use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from engine.cleaning.common import per_frame
from engine.cleaning.near_duplicates import near_pairs
from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.core.memo import StatMemo
from engine.data.datasets import ITEM, Dataset
from engine.data.image_pool import (
    COLOUR_CELLS,
    THUMB_SIDE,
    Fingerprint,
    crash_message,
    fingerprint_files,
    map_files,
    remember_digests,
    stat_key,
)
from engine.data.images import MSG_CORRUPT, MSG_EMPTY, MSG_NOT_FOUND, MSG_NOT_IMAGE, MSG_TOO_LARGE

__all__ = ["ImageFacts", "image_facts", "remember_fingerprints"]

MSG_READING = N_("Reading images…")
MSG_CRASHED = "crashed"  # not a msgid: ImageReadError has none for a decoder crash
#: Fingerprints remembered across frames (about 200 bytes each).
MEMO_LIMIT = 500_000

#: Outcomes decided by the file's bytes alone (None: it decodes).
_LASTING = frozenset({None, MSG_CORRUPT, MSG_EMPTY, MSG_NOT_IMAGE, MSG_TOO_LARGE})
_memo: StatMemo[Fingerprint] = StatMemo(MEMO_LIMIT)


def remember_fingerprints(prints: list[Fingerprint]) -> None:
    """Keep fingerprints by (path, size, mtime): of files that decoded, and of files
    whose *content* is the problem (the same bytes fail the same way). Missing files,
    permission and I/O errors and decoder crashes are tried again next time."""
    remember_digests((fp.key, fp.digest) for fp in prints)
    _memo.put_many((fp.key, fp) for fp in prints if fp.key is not None and fp.error in _LASTING)


def _recalled(path: str) -> Fingerprint | None:
    return _memo.get(stat_key(path))


def _crashed(path: str) -> Fingerprint:
    return Fingerprint(stat_key(path), None, MSG_CRASHED, crash_message(path))


@dataclass
class ImageFacts:
    """Per row of the frame: whether the file decodes (else why), its size, content
    hash and fingerprints. Rows naming the same file share its facts."""

    paths: list[str]
    readable: np.ndarray  # bool
    error: np.ndarray  # object: ImageReadError msgid, MSG_CRASHED, or None
    error_text: list[str]  # translated when read (the preview shows it)
    width: np.ndarray  # int64, -1 when unreadable
    height: np.ndarray
    digest: np.ndarray  # int64: same number = same bytes; -1 when unreadable
    phash: np.ndarray  # uint64
    dhash: np.ndarray  # uint64
    colour: np.ndarray  # uint8 (n, COLOUR_CELLS² × 3)
    thumb: np.ndarray  # uint8 (n, THUMB_SIDE²), greyscale
    _near: tuple[np.ndarray, dict] | None = field(default=None, repr=False)

    @cached_property
    def representatives(self) -> np.ndarray:
        """The first row of each distinct readable content (indexed by ``digest``)."""
        readable = np.flatnonzero(self.readable)
        codes, first = np.unique(self.digest[readable], return_index=True)
        out = np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64)
        out[codes] = readable[first]
        return out

    def near_pairs(self, cancel: CancelToken | None = None) -> tuple[np.ndarray, dict]:
        """Near-identical pairs of *distinct contents* (digest codes, i < j), and stats.

        Identical files collapse to one representative first: they are exact
        duplicates, reported on their own, and searching them again would only
        multiply the pairs. Computed once; three checks use it. Model features play
        no part: whether they are cached must not change what a check finds."""
        if self._near is None:
            rows = self.representatives
            self._near = near_pairs(
                self.phash[rows], self.dhash[rows], self.colour[rows], self.thumb[rows], cancel
            )
        return self._near


def _fingerprints(paths: list[str], progress: Progress, cancel: CancelToken) -> list[Fingerprint]:
    recalled = [_recalled(path) for path in paths]
    todo = [i for i, fp in enumerate(recalled) if fp is None]
    # Remembered chunk by chunk: a check cancelled at 90,000 of 100,000 files keeps them.
    fresh = map_files(
        fingerprint_files,
        [paths[i] for i in todo],
        progress,
        cancel,
        MSG_READING,
        _crashed,
        on_done=remember_fingerprints,
    )
    for index, fp in zip(todo, fresh, strict=True):
        recalled[index] = fp
    return recalled  # type: ignore[return-value]


def compute_facts(
    frame: pd.DataFrame, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> ImageFacts:
    """Fingerprint every distinct file of ``frame`` (see the module docstring)."""
    cancel = cancel or CancelToken()
    items = frame[ITEM].astype("string").fillna("").to_numpy(dtype=object)
    row_file, unique = pd.factorize(items)
    paths = [str(path) for path in unique]
    prints = _fingerprints(paths, progress, cancel)
    n = len(paths)
    readable = np.array([fp.error is None for fp in prints], dtype=bool)
    errors = np.array([fp.error if fp.error is not None else None for fp in prints], dtype=object)
    for i, path in enumerate(paths):
        if path == "":  # a row without a path (a table cell left blank)
            readable[i], errors[i] = False, MSG_NOT_FOUND
    digests = [fp.digest if ok else None for fp, ok in zip(prints, readable, strict=True)]
    codes, _names = pd.factorize(pd.Series(digests, dtype=object), use_na_sentinel=True)
    colour = np.zeros((n, COLOUR_CELLS * COLOUR_CELLS * 3), dtype=np.uint8)
    thumb = np.zeros((n, THUMB_SIDE * THUMB_SIDE), dtype=np.uint8)
    for i, fp in enumerate(prints):
        if readable[i] and fp.colour:
            colour[i] = np.frombuffer(fp.colour, dtype=np.uint8)
        if readable[i] and len(fp.thumb) == thumb.shape[1]:
            thumb[i] = np.frombuffer(fp.thumb, dtype=np.uint8)
    per_file = {
        "width": np.array([fp.width for fp in prints], dtype=np.int64),
        "height": np.array([fp.height for fp in prints], dtype=np.int64),
        "digest": np.where(readable, codes, -1).astype(np.int64),
        "phash": np.array([fp.phash for fp in prints], dtype=np.uint64),
        "dhash": np.array([fp.dhash for fp in prints], dtype=np.uint64),
    }
    text = [fp.error_text for fp in prints]
    return ImageFacts(
        paths=[paths[i] for i in row_file],
        readable=readable[row_file],
        error=errors[row_file],
        error_text=[text[i] for i in row_file],
        colour=colour[row_file],
        thumb=thumb[row_file],
        **{name: values[row_file] for name, values in per_file.items()},
    )


def image_facts(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> ImageFacts:
    """The shared facts for this dataset's frame; the first check to ask pays."""
    frame = dataset.frame
    return per_frame(frame, "image_facts", lambda: compute_facts(frame, progress, cancel))
