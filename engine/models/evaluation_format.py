"""The evaluation file (``evaluation.json`` in a model package): its two forms, and its checks.

An evaluation is saved in full (every row's probability for every class) or,
above ``COMPACT_ABOVE_CLASSES`` classes, compactly (each row's ``TOP_K`` most
likely classes): full vectors for 5,000 classes made a 367 MB file. The file may
come from someone else's package, so reading it checks every list and number
before an ``Evaluation`` is built from it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.core.versioned_json import JsonFormat, check_versioned, version_of

FORMAT = "taxon-evaluation"
VERSION = 1
#: The compact form: top-k probabilities per row instead of the full vectors.
VERSION_TOP_K = 2
JSON_FORMAT = JsonFormat(FORMAT, newest=VERSION_TOP_K)
#: Above this many classes an evaluation is saved compactly (5,000 classes made 367 MB).
COMPACT_ABOVE_CLASSES = 100
TOP_K = 5

MSG_DAMAGED = N_("The evaluation file is damaged and cannot be read.")


def shortest(values: np.ndarray) -> list[list[float]]:
    """float32's shortest decimal form: exact on reading back, and a compact file."""
    return [[float(value) for value in row] for row in values.astype(np.float32).astype(str)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def checked_version(data: Any) -> int:
    """Check an evaluation's JSON whole, so a bad file fails here and not halfway through
    building the evaluation; returns its version (which form it is in). Anything wrong
    is a ``UserError`` (``MSG_DAMAGED``) whose details say what, for the log."""

    def damaged(problem: str) -> UserError:
        return UserError(MSG_DAMAGED, details=problem)

    version = version_of(check_versioned(data, JSON_FORMAT, damaged=damaged))
    problem = _content_problem(data, version)
    if problem:
        raise damaged(problem)
    return version


def _content_problem(data: dict[str, Any], version: int) -> str | None:
    """What is wrong with the content of an evaluation's JSON (None when fine)."""
    labels, items = data.get("labels"), data.get("items")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        return "labels must be a non-empty list of strings"
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        return "items must be a list of strings"
    y_true, probs = data.get("y_true"), data.get("probs")
    if not isinstance(y_true, list) or len(y_true) != len(items):
        return "y_true must have one entry per item"
    if not all(_is_int(v) and 0 <= v < len(labels) for v in y_true):
        return "y_true holds something other than a label index"
    problem = (
        _top_k_problem(data.get("top_k"), len(items), len(labels))
        if version == VERSION_TOP_K
        else _probs_problem(probs, len(items), len(labels))
    )
    if problem:
        return problem
    skipped = data.get("skipped", [])
    if not isinstance(skipped, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in skipped
    ):
        return "skipped must be a list of [item, reason] pairs"
    row_ids = data.get("row_ids")
    if row_ids is not None and (
        not isinstance(row_ids, list)
        or len(row_ids) != len(items)
        or not all(_is_int(v) for v in row_ids)
    ):
        return "row_ids must hold one integer per item"
    return None


def _probs_problem(probs: Any, count: int, classes: int) -> str | None:
    if not isinstance(probs, list) or len(probs) != count:
        return "probs must have one row per item"
    for row in probs:
        if not isinstance(row, list) or len(row) != classes:
            return "a probs row does not have one value per label"
        if not all(_is_number(v) and -1e-6 <= v <= 1 + 1e-6 for v in row):
            return "probs holds a value that is not a probability"
    return None


def _top_k_problem(top: Any, count: int, classes: int) -> str | None:
    if not isinstance(top, dict):
        return "top_k must be an object"
    indices, values = top.get("indices"), top.get("probs")
    if (
        not isinstance(indices, list)
        or not isinstance(values, list)
        or len(indices) != count
        or len(values) != count
    ):
        return "top_k must have one row per item"
    width = len(indices[0]) if count and isinstance(indices[0], list) else 1
    if count and not 1 <= width <= classes:
        return "top_k rows must hold between one and all labels"
    for row, chances in zip(indices, values, strict=True):
        if (
            not isinstance(row, list)
            or not isinstance(chances, list)
            or len(row) != width
            or len(chances) != width
        ):
            return "a top_k row does not have k entries"
        if not all(_is_int(v) and 0 <= v < classes for v in row) or len(set(row)) != width:
            return "top_k holds something other than distinct label indices"
        if not all(_is_number(v) and -1e-6 <= v <= 1 + 1e-6 for v in chances):
            return "top_k holds a value that is not a probability"
        if any(later > earlier for earlier, later in zip(chances, chances[1:], strict=False)):
            return "top_k rows must be most likely first"
    return None
