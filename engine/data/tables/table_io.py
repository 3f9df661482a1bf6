"""Reading and writing the user's tables: CSV, TSV, Excel, JSON Lines and Parquet.

Every cell comes back as text (pandas ``string`` dtype): "007" stays "007" and a
label column of 1/2/3 stays three labels. An empty CSV field is ``""``; a value
the source does not have at all (a short CSV row, an empty Excel cell, a JSON
``null`` or missing key, a Parquet null) is ``<NA>``. Deciding that empty text
means "no label" is the dataset layer's job, not this one's.

Delimited text is decoded once to UTF-8 (``engine.data.tables.detect`` finds the
encoding and delimiter) and parsed by pyarrow's streaming CSV reader: a million
rows in about 0.3 s, 3-4x faster than pandas' C engine (docs/performance.md,
"Tables"). Files pyarrow finds irregular (short or long rows, whitespace-only
lines) go through Python's csv module, which pads short rows and names the
exact line of a long one. Excel, JSON Lines and Parquet live in
``engine.data.tables.formats``, column guessing in ``engine.data.tables.columns``; this
module is the public API and re-exports what callers need.

``TableRead.line_numbers`` gives each row's 1-based line in the file (the Excel
row for workbooks) so findings can say "line 42". It is exact, also with quoted
fields that span lines and with blank lines: when the plain count of lines does
not match the rows, the records are walked once more with the csv module.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.core.atomic import write_user_file
from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError
from engine.core.regular_files import MSG_NOT_REGULAR, NotRegularFileError, open_regular
from engine.data.tables import detect
from engine.data.tables.columns import ColumnGuess, guess_columns
from engine.data.tables.common import (
    MSG_EMPTY,
    MSG_READING,
    ReadSteps,
    TableRead,
    name_columns,
)
from engine.data.tables.detect import SUPPORTED_ENCODINGS
from engine.data.tables.formats import read_jsonl, read_parquet, read_xlsx, table_bytes

__all__ = [
    "SUPPORTED_ENCODINGS",
    "ColumnGuess",
    "TableRead",
    "guess_columns",
    "read_table",
    "write_table",
]

MSG_NOT_FOUND = N_("{name} was not found. It may have been moved, renamed or deleted.")
MSG_PERMISSION = N_("{name} cannot be opened: permission denied.")
MSG_IS_FOLDER = N_("{name} is a folder, not a table file.")
MSG_READ_FAILED = N_("{name} could not be read.")
MSG_RAGGED = N_(
    "{name}: line {line} has {found} fields but the header has {expected}. Check the "
    "delimiter and the quotes on that line."
)
MSG_BAD_ROW = N_("{name}: line {line} cannot be read as a table row.")
MSG_UNCLOSED_QUOTE = N_(
    "{name}: the quotes opened on line {line} are never closed, so the rest of the file "
    "would be read as one value. Check the quotes on that line."
)
MSG_UNSUPPORTED = N_(
    "{name} is not a table Taxon can read. Use CSV, TSV, Excel (.xlsx), JSON Lines or Parquet."
)
MSG_TOO_MANY_ROWS = N_(
    "{name} cannot be saved as an Excel workbook: it has {rows} rows and Excel holds at most "
    "{limit}."
)

XLSX_MAX_ROWS = 1_048_576
_SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)  # Excel's "sep=;" hint line
_STRING = pd.StringDtype()
_ONE_READ = 256 << 20


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    format: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> TableRead:
    """Read a table file as text columns; every problem a user can fix is a UserError.

    ``encoding``, ``delimiter``, ``sheet`` and ``format`` override detection (the
    UI offers them when a guess was wrong).
    """
    source = Path(path)
    name = source.name or str(source)
    if format is not None and format not in detect.FORMATS:
        raise UserError(MSG_UNSUPPORTED, name=name)
    if encoding is not None:
        encoding = detect.codec_name(encoding)
    if delimiter is not None and len(delimiter) != 1:
        raise ValueError(f"a delimiter is one character, not {delimiter!r}")
    data, steps = _read_bytes(source, name, progress, cancel)
    if not data or data.isspace():
        raise UserError(MSG_EMPTY, name=name)
    kind = format or detect.sniff_format(data[:64], source.suffix)
    if kind == "xls":
        raise UserError(detect.MSG_OLD_EXCEL, name=name)
    if kind in ("csv", "tsv"):
        read = _read_delimited(data, kind, name, encoding, delimiter, steps)
    elif kind == "jsonl":
        read = read_jsonl(data, name, encoding, steps)
    elif kind == "xlsx":
        read = read_xlsx(data, name, sheet, steps)
    else:
        read = read_parquet(data, name, steps)
    read.path = str(source)
    if progress is not None:
        progress(
            ReadSteps.PHASES * steps.size,
            ReadSteps.PHASES * steps.size,
            _(MSG_READING).format(name=name),
        )
    return read


def _read_bytes(source: Path, name: str, progress, cancel) -> tuple[bytes | bytearray, ReadSteps]:
    """The whole file. Up to 256 MB in one read (a tenth of a second); larger files in
    8 MB steps into one buffer, so progress moves and cancel works. Only a regular file
    is opened: a FIFO would block and ``/dev/zero`` would never end."""
    try:
        if source.is_dir():
            raise UserError(MSG_IS_FOLDER, name=name)
        with open_regular(source) as handle:
            size = os.fstat(handle.fileno()).st_size
            steps = ReadSteps(progress, cancel, name, size)
            steps.at(0, 0)
            if size <= _ONE_READ:
                data: bytes | bytearray = handle.read()
            else:
                data, done = bytearray(size), 0
                with memoryview(data) as view:
                    while done < size and (count := handle.readinto(view[done : done + (8 << 20)])):
                        done += count
                        steps.at(0, done)
                del data[done:]
                data += handle.read()  # a file that grew while being read
            steps.at(0, len(data))
    except NotRegularFileError as error:
        raise UserError(MSG_NOT_REGULAR, str(error), name=name) from error
    except FileNotFoundError as error:
        raise UserError(MSG_NOT_FOUND, str(error), name=name) from error
    except PermissionError as error:
        raise UserError(MSG_PERMISSION, str(error), name=name) from error
    except IsADirectoryError as error:
        raise UserError(MSG_IS_FOLDER, str(error), name=name) from error
    except OSError as error:
        raise UserError(MSG_READ_FAILED, str(error), name=name) from error
    return data, steps


def _read_delimited(
    data: bytes, kind: str, name: str, encoding: str | None, delimiter: str | None, steps: ReadSteps
) -> TableRead:
    body, used = detect.to_utf8(data, encoding, name, lambda done: steps.at(1, done))
    if not body or body.isspace():
        raise UserError(MSG_EMPTY, name=name)
    sample = detect.decode_sample(body, name)
    start = len(sample) - len(sample.lstrip(" \t\r\n"))  # leading blank lines (ASCII)
    start = body.rfind(b"\n", 0, start) + 1 if start else 0
    header_line = body.count(b"\n", 0, start) + 1
    first_end = sample.find("\n", start)
    first = sample[start : first_end if first_end >= 0 else len(sample)]
    hint = _SEP_LINE.match(first.strip())
    if hint and first_end >= 0:
        delimiter = delimiter or hint.group(1)
        start, header_line = first_end + 1, header_line + 1
    delimiter = delimiter or detect.detect_delimiter(sample[start:], "\t" if kind == "tsv" else ",")
    kind = "tsv" if delimiter == "\t" else "csv"
    body = _trim_tail(body)
    width = len(next(csv.reader(io.StringIO(sample[start:], newline=""), delimiter=delimiter), []))
    table = _arrow_parse(body, start, delimiter, width, steps)
    if table is None:
        names, frame, lines = _python_parse(
            body[start:].decode("utf-8"), delimiter, header_line, name, steps
        )
    else:
        if table.num_rows == 0:
            raise UserError(MSG_EMPTY, name=name)
        names = ["" if v is None else str(v) for v in table.slice(0, 1).to_pylist()[0].values()]
        table = table.slice(1).rename_columns([f"c{i}" for i in range(len(names))])
        frame = table.to_pandas(types_mapper=lambda kind: _STRING)
        lines = _line_numbers(body, start, header_line, len(frame), delimiter, width)
    if (
        len(frame)
        and not body.endswith((b'"\n', b'"\r\n'))
        and any(isinstance(v, str) and v.endswith("\n") for v in frame.iloc[-1].tolist())
    ):
        raise UserError(MSG_UNCLOSED_QUOTE, name=name, line=int(lines[-1]))
    read = TableRead(frame, kind, used, delimiter, header_line, line_numbers=lines)
    name_columns(read, names, name)
    return read


def _trim_tail(body: bytes) -> bytes:
    """End after the last row's newline: whitespace-only lines at the end (common after
    hand edits) would otherwise count as short rows and send the file down the slow path."""
    end = len(body)
    while end and body[end - 1 : end] in (b"\n", b"\r", b" ", b"\t"):
        end -= 1
    cut = body.find(b"\n", end)
    if cut < 0:
        return body + b"\n"
    return body if cut == len(body) - 1 else body[: cut + 1]


def _arrow_parse(body: bytes, start: int, delimiter: str, width: int, steps: ReadSteps):
    """The table with the header as its first row, or None when some row is irregular."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    irregular: list[int] = []

    def on_invalid(row) -> str:
        irregular.append(row.actual_columns)
        return "skip"

    source = pa.BufferReader(pa.py_buffer(body)[start:])
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,
            ),
        )
        batches = []
        for batch in reader:
            batches.append(batch)
            steps.at(2, start + source.tell())
            if irregular:
                return None
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid:
        return None  # the csv module says precisely what is wrong, and where
    if irregular or any(t != pa.string() for t in table.schema.types):
        return None
    return table


def _records(text: str, delimiter: str, first_line: int):
    """(record, start line) for each CSV record of ``text``, blank lines included as []."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    consumed = 0
    for record in reader:
        yield record, first_line + consumed
        consumed = reader.line_num


def _python_parse(text: str, delimiter: str, first_line: int, name: str, steps: ReadSteps):
    """The slow, exact path: pads short rows, names the first over-long one."""
    names: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    line, total = first_line, max(1, text.count("\n"))
    try:
        for record, line in _records(text, delimiter, first_line):
            if not record or (
                len(record) == 1 and not record[0].strip() and (names is None or len(names) > 1)
            ):
                continue
            if names is None:
                names = record
                continue
            if len(record) > len(names):
                raise UserError(
                    MSG_RAGGED, name=name, line=line, found=len(record), expected=len(names)
                )
            rows.append(record + [None] * (len(names) - len(record)))
            lines.append(line)
            if len(rows) % 65536 == 0:
                steps.at(2, steps.size * (line - first_line) // total)
    except csv.Error as error:
        raise UserError(MSG_BAD_ROW, str(error), name=name, line=line) from error
    if names is None:
        raise UserError(MSG_EMPTY, name=name)
    columns = [f"c{i}" for i in range(len(names))]
    frame = (
        pd.DataFrame(rows, columns=columns, dtype=_STRING)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=_STRING) for c in columns})
    )
    return names, frame, np.asarray(lines, dtype=np.int64)


def _line_numbers(
    body: bytes, start: int, header_line: int, rows: int, delimiter: str, width: int
) -> np.ndarray:
    """Each row's first line: arithmetic when every line is a row, else a csv walk."""
    if body.count(b"\n", start) == rows + 1:  # header + rows, one line each
        return np.arange(header_line + 1, header_line + 1 + rows, dtype=np.int64)
    starts = [
        line
        for record, line in _records(body[start:].decode("utf-8"), delimiter, header_line)
        if record
    ]
    if len(starts) == rows + 1:
        return np.asarray(starts[1:], dtype=np.int64)
    # pyarrow and the csv module disagreed on some odd quoting: keep the estimate.
    return np.arange(header_line + 1, header_line + 1 + rows, dtype=np.int64)


# --------------------------------------------------------------------- writing


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    format: str,
    *,
    neutralize: bool | None = None,
    delimiter: str | None = None,
    sheet: str = "Sheet1",
    bom: bool = False,
) -> None:
    """Save ``frame`` as UTF-8 ``format`` (csv/tsv/xlsx/jsonl/parquet), atomically.

    ``neutralize`` (default: on for csv, tsv and xlsx, which people open in a
    spreadsheet) prefixes ``'`` to cells starting like a formula, so a review that
    reads ``=HYPERLINK(...)`` cannot run. ``bom`` adds the UTF-8 mark Excel needs to
    show non-ASCII CSV text correctly.
    """
    if format not in detect.FORMATS:
        raise ValueError(f"unknown table format {format!r}")
    if len(set(map(str, frame.columns))) != len(frame.columns):
        raise ValueError("column names must be unique")
    target = Path(path)
    name = target.name or str(target)
    if format == "xlsx" and len(frame) + 1 > XLSX_MAX_ROWS:
        raise UserError(MSG_TOO_MANY_ROWS, name=name, rows=len(frame), limit=XLSX_MAX_ROWS - 1)
    if neutralize is None:
        neutralize = format in ("csv", "tsv", "xlsx")
    data = table_bytes(frame, format, neutralize, delimiter, sheet, bom)
    write_user_file(target, data)
