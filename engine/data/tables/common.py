"""What every table reader shares: the result, the progress steps and column naming.

The delimited reader (``table_io``) and the Excel/JSON Lines/Parquet readers
(``formats``) both build a ``TableRead`` through ``ReadSteps`` and name its
columns the same way, so a table reads alike whatever its format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, Throttle, UserError
from engine.data.tables import detect

MSG_EMPTY = N_("{name} is empty.")
MSG_NO_ROWS = N_("{name} has a header but no rows.")
MSG_DUPLICATE_COLUMNS = N_(
    "{name} has more than one column named {columns}. Give each column its own name."
)
MSG_UNNAMED_COLUMN = N_("{name}: column {number} has no name; Taxon calls it {column}.")
MSG_BAD_XLSX = N_("{name} is not a valid Excel workbook, or it is damaged.")
MSG_NO_SHEET = N_("{name} has no sheet named {sheet}. Its sheets are: {sheets}.")
MSG_BAD_JSON = N_("{name}: line {line} is not valid JSON.")
MSG_NOT_OBJECT = N_(
    "{name}: line {line} is not a JSON object. Each line must hold one record, such as a "
    "text and its label."
)
MSG_BAD_PARQUET = N_("{name} is not a valid Parquet file, or it is damaged.")
MSG_READING = N_("Reading {name}…")


@dataclass
class TableRead:
    """A table read as text, with how it was read (to read it again or write it back)."""

    frame: pd.DataFrame
    format: str  # "csv", "tsv", "xlsx", "jsonl", "parquet"
    encoding: str | None = None  # Python codec name; None for binary formats
    delimiter: str | None = None
    header_line: int = 1  # 1-based; the Excel row for xlsx; 0 when there is none
    warnings: list[UserError] = field(default_factory=list)
    line_numbers: np.ndarray | None = None  # per row, 1-based; None for Parquet
    sheet: str | None = None
    path: str = ""


class ReadSteps:
    """One progress bar over a read: bytes read, then decoded, then parsed; and cancel."""

    PHASES = 3

    def __init__(
        self, progress: Progress | None, cancel: CancelToken | None, name: str, size: int
    ) -> None:
        self.progress, self.cancel, self.name = progress, cancel, name
        self.size = max(size, 1)
        self.throttle = Throttle(0.1)

    def at(self, phase: int, done: int) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        if self.progress is not None and self.throttle.due():
            done = phase * self.size + min(max(done, 0), self.size)
            self.progress(done, self.PHASES * self.size, _(MSG_READING).format(name=self.name))


def name_columns(read: TableRead, names: list[str], name: str) -> None:
    """Give the frame its header: unnamed columns get a name (or go, if empty);
    duplicate names are an error the user must fix (which one is "label"?)."""
    frame, keep, final = read.frame, [], []
    for index, (column, title) in enumerate(zip(frame.columns, names, strict=True)):
        title = "" if title is None else str(title)
        if not title.strip():
            values = frame[column]
            if not (values.isna() | (values == "")).all():
                title = f"column_{index + 1}"
                read.warnings.append(
                    UserError(MSG_UNNAMED_COLUMN, name=name, number=index + 1, column=title)
                )
            else:
                continue
        keep.append(column)
        final.append(title)
    repeated = detect.duplicates(final)
    if repeated:
        raise UserError(
            MSG_DUPLICATE_COLUMNS, name=name, columns=", ".join(f"“{c}”" for c in repeated)
        )
    read.frame = frame[keep].set_axis(final, axis=1)
    if read.frame.empty and len(read.frame.index) == 0:
        raise UserError(MSG_NO_ROWS, name=name)
