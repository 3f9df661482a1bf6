"""Vectorised passes over Arrow string columns, on several threads for big columns.

The text checks run on a million rows, so the data layer's string work goes
through pyarrow's kernels (RE2 regexes, which release the GIL) over slices of
the column, and per-string Python only where a mask says it is needed.
``textnorm`` builds its repairs and comparison keys from these pieces.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def to_arrow(values) -> pa.Array:
    """A pandas Series / list of strings as one Arrow string array.

    32-bit offsets (``string``) when the text fits in 2 GiB: pyarrow hashes those
    several times faster than ``large_string``, which pandas uses.
    """
    if isinstance(values, pd.Series):
        values = values.array
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type == pa.large_string() and array.nbytes < 2**31 - 2**26:
        array = array.cast(pa.string())
    return array


_SLICE_ROWS = 100_000  # below this, one thread does it
_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()
_THREAD_PREFIX = "taxon-text"


def parallel(fn, array: pa.Array) -> list:
    """``fn`` over contiguous slices of ``array`` on a few threads, results in order.

    Arrow's string kernels release the GIL, so element-wise passes over a million
    texts scale with the cores; slices are zero-copy views.
    """
    global _EXECUTOR
    workers = min(os.cpu_count() or 1, 8, max(1, len(array) // _SLICE_ROWS))
    if workers == 1 or threading.current_thread().name.startswith(_THREAD_PREFIX):
        return [fn(array)]  # inside a worker already: nesting on one pool would deadlock
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=min(os.cpu_count() or 1, 8), thread_name_prefix=_THREAD_PREFIX
            )
    bounds = np.linspace(0, len(array), workers + 1).astype(np.int64)
    return list(
        _EXECUTOR.map(
            lambda i: fn(array.slice(bounds[i], bounds[i + 1] - bounds[i])), range(workers)
        )
    )


def concat(parts: list[pa.Array]) -> pa.Array:
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def regex_mask(array: pa.Array, pattern: str) -> np.ndarray:
    """Vectorised ``re.search`` (RE2 syntax); nulls are False."""

    def mask(part: pa.Array) -> np.ndarray:
        found = pc.match_substring_regex(part, pattern=pattern)
        return pc.fill_null(found, False).to_numpy(zero_copy_only=False)

    return np.concatenate(parallel(mask, array))


def update_where(array: pa.Array, mask: np.ndarray, fn, source: pa.Array | None = None) -> pa.Array:
    """``array`` with the values under ``mask`` replaced by ``fn`` of those values (of
    ``source``'s values, when given): work happens only where it is needed."""
    if not mask.any():
        return array
    selected = pa.array(mask)
    return pc.replace_with_mask(
        array, selected, fn((array if source is None else source).filter(selected))
    )


def python_map(fn):
    """Lift a per-string function to ``update_where``'s array form (for the few values
    that need ftfy, NFKC or casefold)."""
    return lambda values: pa.array([fn(v) for v in values.to_pylist()], type=values.type)


def regex_steps(*steps: tuple[str, str]):
    def apply(values: pa.Array) -> pa.Array:
        for pattern, replacement in steps:
            values = pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)
        return values

    return apply
