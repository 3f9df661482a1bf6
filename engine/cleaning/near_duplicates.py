"""Finding near-identical images without comparing every pair, and grouping them.

Comparing every image with every other is n²/2 pairs: 50 million for 10,000 images.
Instead, perceptual hashes (64 bits) are searched with *multi-index hashing*
(Norouzi et al., 2012): split each hash into m chunks; if two hashes differ in at
most k bits, then by the pigeonhole principle at least one chunk differs in at most
⌊k/m⌋ bits. So each image only looks up, per chunk, the few buckets within that
small radius of its own chunk value, and only the pairs found there are compared in
full. The number of chunks is chosen from a cost model (lookups against expected
chance collisions) for the number of images at hand. Chunks take interleaved bit
positions, so the low-frequency pHash bits, which vary least between images, are
spread over all chunks instead of making one chunk nearly useless.

A pHash match is only a candidate. It is confirmed by dHash, a tiny colour
thumbnail and, decisively, a pixel-by-pixel comparison of 16×16 greyscale
thumbnails normalised for brightness and contrast: small, simple pictures
(handwritten digits, icons) share hashes by the hundred without being copies, and
only the pixels tell them apart. The decision looks at the two images alone, never
at model features, so it is the same whether or not features happen to be cached.

Pairs are grouped by *star clustering* around a deterministic centre, not by
connected components: a chain of pairs (a~b, b~c, c~d ...) would otherwise join
pictures that are nothing alike. Every member of a group is a confirmed pair of
its centre, and no two centres are a pair, so keeping each group's centre leaves
nothing for a second check to find. Calibration figures: ``bench/health_quality.py``
and the constants below.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from engine.core.jobs import CancelToken

__all__ = [
    "COLOUR_MAX",
    "COSINE_MIN",
    "DHASH_MAX",
    "EMBEDDING_MAX_ITEMS",
    "MIN_DETAIL",
    "PHASH_MAX",
    "PIXEL_MAX",
    "brute_force_pairs",
    "components",
    "embedding_pairs",
    "hamming_pairs",
    "near_pairs",
    "normalised_thumbnails",
    "star_groups",
]

# Calibrated on 82 distinct pictures (22 real photos from scikit-image and scikit-learn,
# 60 quarter tiles of them) with planted copies, and on scikit-learn's 1,797 digits as
# 64×64 PNGs:
# resized 50-200 %: all found; JPEG quality 30-90: 96 %; brightness or colour ±15 %:
# 98-100 %; cropped 5-10 %: 2 % (a crop moves every pixel; only crops of a few
# percent are found). False pairs: none of 212,544 pairs of distinct photos; digits:
# 7 pairs of near-identical "1"s and "4"s (14 of 1,797 rows), none across digits.

#: pHash bits two copies may differ in (the candidate search radius).
PHASH_MAX = 10
#: dHash bits two copies may differ in (a veto on clearly different layouts).
DHASH_MAX = 16
#: Mean absolute difference of the 4×4 RGB thumbnails, 0-255 (allows a ±15 % colour shift).
COLOUR_MAX = 30.0
#: Mean absolute difference of the normalised greyscale thumbnails, in standard
#: deviations: copies measured ≤ 0.07 (JPEG-30 up to 0.2), distinct photos ≥ 0.39,
#: the closest two different handwritten "1"s 0.05-0.1.
PIXEL_MAX = 0.1
#: A thumbnail whose pixels vary less than this (0-255, standard deviation) is nearly
#: flat: its hashes and normalised pixels are noise, so it is nobody's near copy.
MIN_DETAIL = 2.0
#: Cosine similarity of the built-in model's features that counts as the same picture
#: (``embedding_pairs``, for benchmarks; the checks do not decide by features).
COSINE_MIN = 0.95
#: Above this many distinct images, the exact embedding search is skipped (it is
#: quadratic: 10,000 images take about a second on two laptop cores).
EMBEDDING_MAX_ITEMS = 10_000
_BITS = 64
_PROBE_BLOCK = 2_000_000  # probes handled at once (bounds memory)
_TABLE_MAX_BITS = 24  # chunks up to this wide are looked up in a direct table
_CANDIDATE_COST = 2.5


def _empty_pairs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def _probes(bits: int, radius: int) -> int:
    return sum(comb(bits, i) for i in range(radius + 1))


def _plan(n: int, max_distance: int) -> int:
    """The number of chunks m that minimises lookups + expected chance candidates.

    A candidate costs about 2.5 lookups (measured: expanding, gathering and
    verifying it); chance candidates assume uniformly spread hash bits."""
    best_m, best_cost = 1, float("inf")
    for m in range(1, min(max_distance + 1, _BITS) + 1):
        bits, radius = _BITS // m, max_distance // m
        probes = _probes(bits, radius)
        cost = n * m * probes + _CANDIDATE_COST * 0.5 * n * n * m * probes / 2.0**bits
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def _chunk_keys(hashes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The bits of ``hashes`` at ``positions``, packed into one integer per hash."""
    keys = np.zeros(len(hashes), dtype=np.uint64)
    for j, position in enumerate(positions.tolist()):
        keys |= ((hashes >> np.uint64(position)) & np.uint64(1)) << np.uint64(j)
    return keys.astype(np.int64)


def _masks(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-wide value with at most ``radius`` bits set (the probe offsets)."""
    out = [0]
    for r in range(1, radius + 1):
        out.extend(sum(1 << b for b in chosen) for chosen in combinations(range(bits), r))
    return np.asarray(out, dtype=np.int64)


def _verify(
    hashes: np.ndarray, left: np.ndarray, right: np.ndarray, max_distance: int
) -> np.ndarray:
    keep = np.bitwise_count(hashes[left] ^ hashes[right]) <= max_distance
    return np.stack([left[keep], right[keep]], axis=1)


def _expand(
    left: np.ndarray, low: np.ndarray, count: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each ``left[i]`` paired with the ``count[i]`` rows listed from ``order[low[i]]``."""
    right_at = np.repeat(low - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
    return np.repeat(left, count), order[right_at]


def _same_bucket_pairs(
    order: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows that share a bucket (``order`` lists rows bucket by bucket)."""
    ends = np.repeat(starts + counts, counts)  # end of each sorted position's bucket
    after = ends - np.arange(len(order)) - 1  # rows after it in its bucket
    return _expand(order, np.arange(1, len(order) + 1), after, order)


def hamming_pairs(
    hashes: np.ndarray, max_distance: int, cancel: CancelToken | None = None
) -> np.ndarray:
    """All index pairs (i < j) whose 64-bit hashes differ in at most ``max_distance``
    bits, sorted, as an (k, 2) int64 array. Same result as ``brute_force_pairs``.

    Per chunk, rows sharing a bucket are paired directly, and each other bucket
    within the radius is probed only from the smaller of the two keys, so every
    candidate pair is produced once per chunk, not twice."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = len(hashes)
    if n < 2:
        return _empty_pairs()
    m = _plan(n, max_distance)
    radius = max_distance // m
    found: list[np.ndarray] = []
    identity = np.arange(n)
    for chunk in range(m):
        positions = np.arange(chunk, _BITS, m)
        keys = _chunk_keys(hashes, positions)
        masks = _masks(len(positions), radius)[1:]
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        unique_keys, starts, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
        left, right = _same_bucket_pairs(order, starts, counts)
        found.append(
            _verify(hashes, np.minimum(left, right), np.maximum(left, right), max_distance)
        )
        if len(masks) == 0:
            continue
        table = len(positions) <= _TABLE_MAX_BITS
        if table:
            dense_start = np.zeros(1 << len(positions), dtype=np.int64)
            dense_count = np.zeros(1 << len(positions), dtype=np.int32)
            dense_start[unique_keys], dense_count[unique_keys] = starts, counts
        # key ^ mask > key exactly when the mask's top bit is clear in key: probe each
        # group of masks only from those keys, so no probe is made twice.
        top = np.floor(np.log2(masks)).astype(np.int64)
        for bit in range(len(positions)):
            if cancel is not None:
                cancel.raise_if_cancelled()
            group = masks[top == bit]
            own = np.flatnonzero(((unique_keys >> bit) & 1) == 0)
            if len(group) == 0 or len(own) == 0:
                continue
            block = max(1, _PROBE_BLOCK // len(group))
            for first in range(0, len(own), block):
                mine = own[first : first + block]
                probe = (unique_keys[mine, None] ^ group[None, :]).ravel()
                if table:
                    low, count = dense_start[probe], dense_count[probe]
                else:
                    low = np.searchsorted(sorted_keys, probe, "left")
                    count = np.searchsorted(sorted_keys, probe, "right") - low
                hit = np.flatnonzero(count)
                if len(hit) == 0:
                    continue
                # Bucket pairs (a, b): every row of bucket a with every row of bucket b.
                a, b_position = _expand(mine[hit // len(group)], low[hit], count[hit], identity)
                b_position, a_position = _expand(b_position, starts[a], counts[a], identity)
                left, right = order[a_position], order[b_position]
                found.append(
                    _verify(hashes, np.minimum(left, right), np.maximum(left, right), max_distance)
                )
    return _unique_pairs(found, n)


def _unique_pairs(found: list[np.ndarray], n: int) -> np.ndarray:
    if not found:
        return _empty_pairs()
    pairs = np.concatenate(found)
    codes = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def brute_force_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """The O(n²) reference for ``hamming_pairs`` (tests and the benchmark)."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = len(hashes)
    found = []
    for first in range(0, n, 512):
        rows = np.arange(first, min(first + 512, n))
        close = np.bitwise_count(hashes[rows, None] ^ hashes[None, :]) <= max_distance
        close &= rows[:, None] < np.arange(n)[None, :]
        left, right = np.nonzero(close)
        found.append(np.stack([rows[left], right], axis=1))
    return _unique_pairs(found, max(n, 1))


def embedding_pairs(
    features: np.ndarray, min_cosine: float = COSINE_MIN, cancel: CancelToken | None = None
) -> np.ndarray:
    """Index pairs (i < j) with cosine similarity ≥ ``min_cosine``; rows with NaN
    (files without features) take part in none. Exact, in blocks of rows."""
    features = np.asarray(features, dtype=np.float32)
    usable = np.flatnonzero(np.isfinite(features).all(axis=1))
    if len(usable) < 2:
        return _empty_pairs()
    vectors = features[usable]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.maximum(norms, 1e-12)
    found = []
    block = 1024
    for first in range(0, len(usable), block):
        if cancel is not None:
            cancel.raise_if_cancelled()
        similarity = vectors[first : first + block] @ vectors[first:].T
        left, right = np.nonzero(np.triu(similarity >= min_cosine, k=1))
        found.append(np.stack([usable[first + left], usable[first + right]], axis=1))
    return _unique_pairs(found, len(features))


def normalised_thumbnails(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greyscale thumbnails (n, pixels) scaled to mean 0 and standard deviation 1, so a
    brighter or higher-contrast copy compares equal; and each one's spread (0-255)."""
    values = np.asarray(thumbs, dtype=np.float32)
    centred = values - values.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1)
    return centred / np.maximum(spread, 1e-6)[:, None], spread


def near_pairs(
    phash: np.ndarray,
    dhash: np.ndarray,
    colour: np.ndarray,
    thumbs: np.ndarray,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, dict]:
    """Pairs of near-identical images (i < j), and a few numbers about the search.

    pHash within ``PHASH_MAX`` bits, confirmed by dHash within ``DHASH_MAX``, colour
    thumbnails within ``COLOUR_MAX`` and normalised greyscale thumbnails within
    ``PIXEL_MAX``; images flatter than ``MIN_DETAIL`` take part in none. Each pair is
    decided by its two images alone, so removing other images never changes it.
    """
    candidates = hamming_pairs(phash, PHASH_MAX, cancel)
    left, right = candidates[:, 0], candidates[:, 1]
    dhash = np.asarray(dhash, dtype=np.uint64)
    colour = np.asarray(colour, dtype=np.int16)
    keep = np.bitwise_count(dhash[left] ^ dhash[right]) <= DHASH_MAX
    if colour.size:
        keep &= np.abs(colour[left] - colour[right]).mean(axis=1) <= COLOUR_MAX
    pixels, spread = normalised_thumbnails(thumbs)
    keep &= (spread[left] >= MIN_DETAIL) & (spread[right] >= MIN_DETAIL)
    for first in range(0, len(candidates), 100_000):  # bounded memory
        block = slice(first, first + 100_000)
        close = np.abs(pixels[left[block]] - pixels[right[block]]).mean(axis=1) <= PIXEL_MAX
        keep[block] &= close
    pairs = candidates[keep]
    return pairs, {"phash_candidates": len(candidates), "hash_pairs": len(pairs)}


def star_groups(n: int, pairs: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Group number (the centre's index) of each of ``n`` nodes; -1 for nodes in no group.

    Nodes are taken in ``priority`` order (lowest first); a node not yet grouped
    becomes a centre and takes every ungrouped node paired with it. So every member
    is a direct pair of its centre (no chains), the centre is the group's
    highest-priority node, and no two centres are a pair: keeping the centres leaves
    no pair behind. Deterministic for a given ``priority`` (ties by index).
    """
    group = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(pairs) == 0:
        return group
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(n + 1))
    neighbours = both[:, 1]
    order = np.lexsort((np.arange(n), priority))
    for node in order[np.diff(starts)[order] > 0].tolist():  # nodes with a pair only
        if group[node] >= 0:
            continue
        mine = neighbours[starts[node] : starts[node + 1]]
        mine = mine[group[mine] < 0]
        if len(mine):
            group[node] = node
            group[mine] = node
    return group


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component number of each of ``n`` nodes joined by ``pairs``
    (a vectorised union-find: scipy's graph traversal in C)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    return connected_components(graph, directed=False)[1].astype(np.int64)
