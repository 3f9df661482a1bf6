"""Small vectorised helpers shared by the text, label and label-error checks.

Checks work on row *positions* (numpy indices into the frame) while they compute,
because positions index arrays directly, and turn them into stable ``row_id``s only
when they build a ``Finding``. Grouping is done with sorts and ``np.unique`` on
integer codes, so a million rows never pass through a Python loop.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.cleaning.findings import Finding, Fix, Message
from engine.core.i18n import Nn_, _
from engine.core.jobs import CancelToken, Progress
from engine.data.datasets import ITEM, LABEL, ROW_ID, SOURCE_LINE, Dataset

#: How many example rows (or groups) a finding carries for the UI and the report.
PREVIEW_ROWS = 5
#: Longest text shown in a preview cell; the full row is one click away in the UI.
PREVIEW_CHARS = 200


def begin(progress: Progress, cancel: CancelToken, message: str) -> None:
    """A check's first report: honour a cancel, then say what it is doing."""
    cancel.raise_if_cancelled()
    progress(0, 1, _(message))


def plural(singular: str, plural_form: str, n: int, **params: Any) -> Message:
    """A count message: ``{n}`` plus ``params``, singular or plural by ``n``."""
    return Message(singular, {"n": n, **params}, plural=plural_form, count=n)


_FRAME_CACHE: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def per_frame(frame: pd.DataFrame, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per frame and name. Frames are never edited in place (fixes
    build new ones), so the identity of the frame object is a safe key; a weak
    reference makes sure a recycled ``id`` is not mistaken for the old frame. Only
    the most recent frames are kept: facts about a million rows are not small."""
    entry = _FRAME_CACHE.get(id(frame))
    if entry is None or entry[0]() is not frame:
        if len(_FRAME_CACHE) >= 2:
            _FRAME_CACHE.pop(next(iter(_FRAME_CACHE)))
        entry = (weakref.ref(frame), {})
        _FRAME_CACHE[id(frame)] = entry
    values = entry[1]
    if name not in values:
        values[name] = compute()
    return values[name]


def _label_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    # Encode first, then judge blankness on the few distinct labels only.
    encoded = pc.dictionary_encode(pa.array(frame[LABEL].array, from_pandas=True))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    names = [str(name) for name in encoded.dictionary.to_pylist()]
    usable = np.array([name.strip() != "" for name in names], dtype=bool)
    new_code = np.where(usable, np.cumsum(usable) - 1, -1)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(codes >= 0, new_code[np.maximum(codes, 0)] if len(names) else -1, -1)
    return codes, [name for name, ok in zip(names, usable, strict=True) if ok], codes < 0


def label_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Integer code per row for its label (-1 when missing or blank), the label
    names, and the missing mask. Blank labels ("", "  ") count as missing
    everywhere, so every check agrees on which rows have no label."""
    return per_frame(frame, "label_codes", lambda: _label_codes(frame))


def row_ids_at(frame: pd.DataFrame, positions: np.ndarray) -> tuple[int, ...]:
    """Sorted row ids of the rows at ``positions``."""
    return tuple(np.sort(frame[ROW_ID].to_numpy()[positions]).tolist())


def groups_at(
    frame: pd.DataFrame, group_of: np.ndarray, positions: np.ndarray
) -> tuple[tuple[int, ...], ...]:
    """Row-id groups: rows at ``positions`` grouped by ``group_of[positions]``, each
    group sorted by row id (so "keep the first" keeps the oldest row), the largest
    groups first."""
    if len(positions) == 0:
        return ()
    ids = frame[ROW_ID].to_numpy()[positions]
    keys = group_of[positions]
    order = np.lexsort((ids, keys))
    ids, keys = ids[order], keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    ends = np.r_[starts[1:], len(keys)]
    rank = np.lexsort((ids[starts], starts - ends))  # longest first, then oldest
    flat = ids.tolist()
    return tuple(tuple(flat[starts[i] : ends[i]]) for i in rank.tolist())


def path_preference(frame: pd.DataFrame) -> np.ndarray:
    """Rank of each row as "the original" among copies (lower is preferred): the
    shortest item (path or text), then the first in alphabetical order, then the
    oldest row. Deterministic, and "photo.jpg" wins over "photo (copy 2).jpg"."""
    items = frame[ITEM].astype("string").fillna("")
    order = np.lexsort(
        (
            frame[ROW_ID].to_numpy(),
            items.to_numpy(dtype=object),
            items.str.len().to_numpy(dtype=np.int64),
        )
    )
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame))
    return rank


def ranked_groups(
    frame: pd.DataFrame, group_of: np.ndarray, positions: np.ndarray, rank: np.ndarray
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """Like ``groups_at``, but each group lists its rows by ``rank`` (a position's
    preference, lower first), so the row a fix keeps comes first; also returns those
    first rows (the ``kept`` of a ``Finding``). Largest groups first, then by kept row."""
    if len(positions) == 0:
        return (), ()
    ids = frame[ROW_ID].to_numpy()[positions]
    keys, ranks = group_of[positions], rank[positions]
    order = np.lexsort((ranks, keys))
    ids, keys = ids[order], keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    ends = np.r_[starts[1:], len(keys)]
    by_size = np.lexsort((ids[starts], starts - ends))
    flat = ids.tolist()
    groups = tuple(tuple(flat[starts[i] : ends[i]]) for i in by_size.tolist())
    return groups, tuple(group[0] for group in groups)


def dense_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense group number per element (0..g-1, by first appearance) and each group's
    size. Hash-based (``pd.factorize``): several times faster than ``np.unique``."""
    group, _ = pd.factorize(keys)
    return group.astype(np.int64), np.bincount(group)


def distinct_per_group(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How many different ``values`` each dense group holds."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    span = int(values.max()) + 2
    pairs = pd.unique(group.astype(np.int64) * span + (values.astype(np.int64) + 1))
    return np.bincount(pairs // span, minlength=int(group.max()) + 1)


def _cell(value: Any) -> Any:
    """A JSON-able preview cell: missing values become None, long text is shortened."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > PREVIEW_CHARS:
        return value[: PREVIEW_CHARS - 1] + "…"
    return value


def _values_at(series: pd.Series, positions: np.ndarray) -> list:
    """``series.iloc[positions].tolist()`` for a few positions, without pandas' slow
    path for chunked Arrow columns (it joins all chunks first: ~0.3 s on a million
    texts, even for one row). Each value is read from its own chunk instead."""
    values = series.array
    if not hasattr(values, "__arrow_array__"):
        return series.iloc[positions].tolist()
    arrow = values.__arrow_array__()
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    starts = np.cumsum([0] + [len(chunk) for chunk in chunks])
    which = np.searchsorted(starts, positions, side="right") - 1
    return [chunks[c][int(p - starts[c])].as_py() for c, p in zip(which, positions, strict=True)]


def preview_rows(
    frame: pd.DataFrame, positions, limit: int = PREVIEW_ROWS, **extra: Any
) -> tuple[dict[str, Any], ...]:
    """Up to ``limit`` rows as small dicts: row_id, source_line, item, label, plus any
    ``extra`` column given as an array aligned with ``positions`` (or a callable
    of the row's item)."""
    positions = np.asarray(positions, dtype=np.int64)[:limit]
    columns = [_values_at(frame[name], positions) for name in (ROW_ID, SOURCE_LINE, ITEM, LABEL)]
    out = []
    for i, (row_id, line, item, label) in enumerate(zip(*columns, strict=True)):
        row = {
            "row_id": int(row_id),
            "source_line": _cell(line),
            "item": _cell(item),
            "label": _cell(label),
        }
        for name, values in extra.items():
            row[name] = _cell(values(item) if callable(values) else values[i])
        out.append(row)
    return tuple(out)


def group_preview(
    frame: pd.DataFrame, groups, limit: int = 3, rows_per_group: int = 3
) -> tuple[dict[str, Any], ...]:
    """The first rows of the first groups, each tagged with its group number."""
    out: list[dict[str, Any]] = []
    ids = frame[ROW_ID].to_numpy()
    for number, group in enumerate(groups[:limit]):
        wanted = list(group[:rows_per_group])
        positions = np.flatnonzero(np.isin(ids, wanted))
        positions = positions[np.argsort([wanted.index(i) for i in ids[positions]])]
        out.extend(dict(row, group=number) for row in preview_rows(frame, positions))
    return tuple(out)


def conflict_finding(
    dataset: Dataset,
    group_of: np.ndarray,
    candidates: np.ndarray,
    labels: np.ndarray,
    kind: str,
    title: tuple[str, str],
    explanation: tuple[str, tuple[str, str]],
    rank: np.ndarray | None = None,
) -> list[Finding]:
    """One "same content, different labels" finding (text or image): among the labelled rows
    at ``candidates``, the groups of ``group_of`` that hold more than one label code.

    The fix keeps the label a strict majority of a group's rows agree on and drops the other
    rows; with no strict majority there is nothing to go by, so the whole group goes. Each
    group lists the rows it keeps first, then by ``rank`` (default: the oldest row first).
    ``explanation`` is the text for "every group has a majority" and the singular/plural pair
    counted by the groups without one (``{rows}``, ``{no_majority}``)."""
    group, _sizes = dense_groups(group_of[candidates])
    conflicted = distinct_per_group(group, labels[candidates])[group] > 1
    positions = candidates[conflicted]
    if len(positions) == 0:
        return []
    frame = dataset.frame
    group, sizes = dense_groups(group_of[positions])
    codes = labels[positions]
    pair, pair_sizes = dense_groups(group * (int(codes.max()) + 1) + codes)
    biggest = np.zeros(len(sizes), dtype=np.int64)
    np.maximum.at(biggest, group, pair_sizes[pair])
    strict = biggest[group] * 2 > sizes[group]  # a strict majority of the group's rows
    keep = strict & (pair_sizes[pair] == biggest[group])
    shown_first = np.array(frame[ROW_ID].to_numpy() if rank is None else rank, dtype=np.int64)
    shown_first[positions[~keep]] += int(shown_first.max()) + 1
    groups, _kept = ranked_groups(frame, group_of, positions, shown_first)
    ids, drop_ids = row_ids_at(frame, positions), row_ids_at(frame, positions[~keep])
    no_majority = int(len(np.unique(group[~strict])))
    all_decided, some_undecided = explanation
    if no_majority:
        message = Message(
            some_undecided[0],
            {"rows": len(ids), "no_majority": no_majority},
            plural=some_undecided[1],
            count=no_majority,
        )
    else:
        message = Message(all_decided, {"rows": len(ids)})
    return [
        Finding(
            kind=kind,
            severity="error",
            title=plural(*title, len(groups)),
            explanation=message,
            row_ids=ids,
            groups=groups,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(drop_ids)},
                plural(
                    *Nn_(
                        "Remove {n} row with a contradicting label",
                        "Remove {n} rows with contradicting labels",
                    ),
                    len(drop_ids),
                ),
            ),
            preview=group_preview(frame, groups),
            stats={
                "groups": len(groups),
                "rows": len(ids),
                "rows_to_drop": len(drop_ids),
                "groups_without_majority": no_majority,
            },
        )
    ]


def duplicate_finding(
    dataset: Dataset,
    group_of: np.ndarray,
    positions: np.ndarray,
    kind: str,
    title: tuple[str, str],
    explanation: tuple[str, str],
    fix_text: tuple[str, str],
    stats: dict | None = None,
    rank: np.ndarray | None = None,
) -> list[Finding]:
    """One "keep one of each group" finding for rows that share a group id (text or image).

    ``rank`` orders each group's rows (lower first; default: the oldest row first):
    the first is the one the fix keeps, named in the finding's ``kept``. ``explanation`` is
    a singular/plural pair counted by groups (``{groups}``; ``{rows}`` is the rows in all)."""
    if len(positions) == 0:
        return []
    if rank is None:
        rank = dataset.frame[ROW_ID].to_numpy()
    groups, kept = ranked_groups(dataset.frame, group_of, positions, rank)
    rows = len(positions)
    extra = rows - len(groups)
    return [
        Finding(
            kind=kind,
            severity="warning",
            title=plural(*title, extra),
            explanation=Message(
                explanation[0],
                {"groups": len(groups), "rows": rows},
                plural=explanation[1],
                count=len(groups),
            ),
            row_ids=row_ids_at(dataset.frame, positions),
            groups=groups,
            fix=Fix("keep_one", {"groups": [list(g) for g in groups]}, plural(*fix_text, extra)),
            preview=group_preview(dataset.frame, groups),
            stats={"groups": len(groups), "rows": rows, "extra_rows": extra, **(stats or {})},
            kept=kept,
        )
    ]
