"""Saving classification results as CSV (for spreadsheets) and JSON (for programs).

A result row is ``{"path", "label", "score", "top": [{"label", "score"}...],
"error"}``; ``label`` and ``score`` are ``None`` for a file that failed, whose
``error`` holds the message already shown to the user. An export also names the
model that made the results and the "unsure" threshold the user chose, and marks
each result below it as unsure: a file read later must say what it came from.
The rows are written in the order given (the window passes its on-screen order).

The CSV is meant to be double-clicked: UTF-8 with a byte-order mark so Excel
reads non-ASCII names, and every text cell defused against formula injection
(a file or label named ``=HYPERLINK(...)`` must not become a live formula).
Column names are fixed English identifiers, like JSON keys, so scripts can
rely on them whatever the UI language. Both files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from engine.core.atomic import write_user_file

CSV_COLUMNS: tuple[str, ...] = ("path", "label", "score", "top5", "error")
#: Added when the caller names the model or the threshold (the window always does).
CONTEXT_COLUMNS: tuple[str, ...] = ("unsure", "model", "unsure_below")
#: The command line's streamed CSV (``classify --output x.csv``): size and mtime for --resume.
STREAM_CSV_COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "score",
    "top5",
    "error",
    "size",
    "mtime_ns",
)
TOP_IN_CSV = 5

#: Cell prefixes that spreadsheets treat as the start of a formula (OWASP).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

Row = Mapping[str, Any]


def neutralize_formula(value: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula; other text is unchanged."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def format_top(top: Iterable[Mapping[str, Any]], limit: int = TOP_IN_CSV) -> str:
    """``"cat (0.91); dog (0.05)"``: the top predictions in one readable cell."""
    parts = []
    for index, prediction in enumerate(top):
        if index >= limit:
            break
        score = _clean_score(prediction.get("score"))
        label = str(prediction.get("label", ""))
        parts.append(label if score is None else f"{label} ({score:.2f})")
    return "; ".join(parts)


def results_to_csv_bytes(
    rows: Iterable[Row], model: str | None = None, unsure_below: float | None = None
) -> bytes:
    """The CSV file's exact bytes (UTF-8 with BOM, CRLF line ends as Excel expects).

    With ``model`` or ``unsure_below``, three columns follow: ``unsure`` ("true",
    "false", or empty for a failed file), ``model`` and ``unsure_below``.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    context = model is not None or unsure_below is not None
    writer.writerow(CSV_COLUMNS + (CONTEXT_COLUMNS if context else ()))
    threshold = _clean_score(unsure_below)
    for row in rows:
        score = _clean_score(row.get("score"))
        cells = [
            _text_cell(row.get("path")),
            _text_cell(row.get("label")),
            "" if score is None else repr(score),
            _text_cell(format_top(row.get("top") or [])),
            _text_cell(row.get("error")),
        ]
        if context:
            unsure = is_unsure(row, threshold)
            cells += [
                "" if unsure is None else ("true" if unsure else "false"),
                _text_cell(model),
                "" if threshold is None else repr(threshold),
            ]
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8-sig")


def is_unsure(row: Row, threshold: float | None) -> bool | None:
    """Whether a result's best score is below ``threshold``; None for a failed file or
    without a threshold (unknown, not "sure")."""
    score = _clean_score(row.get("score"))
    if threshold is None or row.get("error") is not None or score is None:
        return None
    return score < threshold


def stream_csv_cells(row: Row) -> list[str]:
    """One streamed CSV record (``STREAM_CSV_COLUMNS``), every text cell defused."""
    score = _clean_score(row.get("score"))
    return [
        _text_cell(row.get("path")),
        _text_cell(row.get("label")),
        "" if score is None else repr(score),
        _text_cell(format_top(row.get("top") or [])),
        _text_cell(row.get("error")),
        "" if row.get("size") is None else str(int(row["size"])),
        "" if row.get("mtime_ns") is None else str(int(row["mtime_ns"])),
    ]


def restore_formula(value: str) -> str:
    """Undo ``neutralize_formula`` on a cell read back (``--resume`` reads its own CSV)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def results_to_json_bytes(
    rows: Iterable[Row], model: str | None = None, unsure_below: float | None = None
) -> bytes:
    """A JSON list with one object per row, non-ASCII kept readable, always valid JSON.

    With ``model`` or ``unsure_below``, each object also carries ``unsure``,
    ``model`` and ``unsure_below``: a list of plain objects stays easy to load into
    a table, and each record says what made it.
    """
    threshold = _clean_score(unsure_below)
    context = model is not None or unsure_below is not None
    records = [
        {
            **_json_record(row),
            "unsure": is_unsure(row, threshold),
            "model": model,
            "unsure_below": threshold,
        }
        if context
        else _json_record(row)
        for row in rows
    ]
    text = json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def export_results_csv(
    rows: Iterable[Row],
    path: str | os.PathLike[str],
    model: str | None = None,
    unsure_below: float | None = None,
) -> None:
    """Save ``rows`` as a spreadsheet-safe CSV at ``path`` (atomically)."""
    write_user_file(path, results_to_csv_bytes(rows, model, unsure_below))


def export_results_json(
    rows: Iterable[Row],
    path: str | os.PathLike[str],
    model: str | None = None,
    unsure_below: float | None = None,
) -> None:
    """Save ``rows`` as a JSON list at ``path`` (atomically)."""
    write_user_file(path, results_to_json_bytes(rows, model, unsure_below))


def _text_cell(value: object) -> str:
    if value is None:
        return ""
    return neutralize_formula(os.fspath(value) if isinstance(value, os.PathLike) else str(value))


def _clean_score(value: object) -> float | None:
    """A finite float, or ``None`` (NaN and infinities have no place in CSV or JSON)."""
    if value is None:
        return None
    number = float(value)  # numpy floats included
    return number if math.isfinite(number) else None


def _json_record(row: Row) -> dict[str, Any]:
    def text(value: object) -> str | None:
        if value is None:
            return None
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)

    return {
        "path": text(row.get("path")),
        "label": text(row.get("label")),
        "score": _clean_score(row.get("score")),
        "top": [
            {"label": text(item.get("label")), "score": _clean_score(item.get("score"))}
            for item in (row.get("top") or [])
        ],
        "error": text(row.get("error")),
    }


# --------------------------------------------------------------------------- text results

#: Text results carry the text and its language too; fixed English column names.
TEXT_CSV_COLUMNS = ("input", "text", "language", "label", "score", "top5", "error")


def text_results_csv_bytes(rows: Iterable[Row]) -> bytes:
    """The CSV's exact bytes (UTF-8 with BOM, CRLF), every text cell defused."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TEXT_CSV_COLUMNS)
    for row in rows:
        score = _clean_score(row.get("score"))
        writer.writerow(
            [_text_cell(row.get(key)) for key in ("input", "text", "language", "label")]
            + [
                "" if score is None else repr(score),
                _text_cell(format_top(row.get("top") or [])),
                _text_cell(row.get("error")),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def text_results_json_bytes(rows: Iterable[Row]) -> bytes:
    """A JSON list, one object per input; always valid JSON (no NaN)."""
    records = [
        {
            "input": row.get("input"),
            "text": row.get("text"),
            "language": row.get("language"),
            "label": row.get("label"),
            "score": _clean_score(row.get("score")),
            "top": [
                {"label": item.get("label"), "score": _clean_score(item.get("score"))}
                for item in (row.get("top") or [])
            ],
            "error": row.get("error"),
        }
        for row in rows
    ]
    return (json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode(
        "utf-8"
    )


def export_text_results(rows: Iterable[Row], path: str | os.PathLike[str], kind: str) -> None:
    """Save text results as ``kind`` ("csv" or "json"); a failure is a UserError."""
    write_user_file(
        path, text_results_csv_bytes(rows) if kind == "csv" else text_results_json_bytes(rows)
    )
