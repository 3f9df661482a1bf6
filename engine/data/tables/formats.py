"""Excel, JSON Lines and Parquet reading, and the bytes of every written format.

Split from ``engine.data.tables.table_io`` (which keeps the public API and the CSV reader) so
that reading a CSV never imports openpyxl. The readers return a ``TableRead`` of
text columns like the CSV reader does; ``table_bytes`` gives the file's bytes,
which ``tables.write_table`` saves atomically.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from engine.core.jobs import UserError
from engine.data.result_export import FORMULA_PREFIXES, neutralize_formula
from engine.data.tables.common import (
    MSG_BAD_JSON,
    MSG_BAD_PARQUET,
    MSG_BAD_XLSX,
    MSG_EMPTY,
    MSG_NO_ROWS,
    MSG_NO_SHEET,
    MSG_NOT_OBJECT,
    ReadSteps,
    TableRead,
    name_columns,
)
from engine.data.tables.detect import to_utf8

_STRING = pd.StringDtype()


def read_xlsx(data: bytes, name: str, sheet: str | None, steps: ReadSteps) -> TableRead:
    """The first sheet (or ``sheet``) as text; ``line_numbers`` are Excel row numbers.

    Leading and fully empty rows are skipped; the first non-empty row is the header.
    Formulas give their last computed value, as Excel shows them.
    """
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises anything from KeyError to BadZipFile
        raise UserError(MSG_BAD_XLSX, str(error), name=name) from error
    try:
        sheets = list(workbook.sheetnames)
        if sheet is not None and sheet not in sheets:
            raise UserError(MSG_NO_SHEET, name=name, sheet=sheet, sheets=", ".join(sheets))
        chosen = sheet if sheet is not None else (sheets[0] if sheets else None)
        if chosen is None or not hasattr(workbook[chosen], "iter_rows"):
            raise UserError(MSG_EMPTY, name=name)
        names, rows, lines, header_line = _sheet_rows(workbook[chosen], steps)
    except UserError:
        raise
    except Exception as error:  # damaged sheet XML surfaces while iterating
        raise UserError(MSG_BAD_XLSX, str(error), name=name) from error
    finally:
        workbook.close()
    if names is None:
        raise UserError(MSG_EMPTY, name=name)
    width = max([len(names)] + [len(r) for r in rows])
    names = names + [""] * (width - len(names))
    columns = [f"c{i}" for i in range(width)]
    padded = [r + [None] * (width - len(r)) for r in rows]
    frame = (
        pd.DataFrame(padded, columns=columns, dtype=_STRING)
        if padded
        else pd.DataFrame({c: pd.Series([], dtype=_STRING) for c in columns})
    )
    read = TableRead(
        frame,
        "xlsx",
        None,
        None,
        header_line,
        line_numbers=np.asarray(lines, dtype=np.int64),
        sheet=chosen,
    )
    name_columns(read, names, name)
    return read


def _sheet_rows(worksheet: Any, steps: ReadSteps):
    worksheet.reset_dimensions()  # a stored "A1" dimension would hide every other row
    total = max(1, worksheet.max_row or 1)
    names: list[str | None] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    header_line = 0
    for number, values in enumerate(worksheet.iter_rows(values_only=True), 1):
        cells = [cell_text(v) for v in values]
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if names is None:
            names, header_line = cells, number
        else:
            rows.append(cells)
            lines.append(number)
        if number % 4096 == 0:
            steps.at(2, steps.size * min(number, total) // total)
    return names, rows, lines, header_line


def read_parquet(data: bytes, name: str, steps: ReadSteps) -> TableRead:
    """Every column cast to text (numbers in their shortest form, nulls missing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        groups = []
        for index in range(parquet.num_row_groups):
            groups.append(parquet.read_row_group(index))
            steps.at(2, steps.size * (index + 1) // max(1, parquet.num_row_groups))
        table = pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
    except (pa.ArrowException, OSError, ValueError, EOFError) as error:
        raise UserError(MSG_BAD_PARQUET, str(error), name=name) from error
    if table.num_rows == 0:
        raise UserError(MSG_NO_ROWS, name=name)
    names = [str(n) for n in table.column_names]
    frame = pd.DataFrame({f"c{i}": _text_column(table.column(i)) for i in range(len(names))})
    read = TableRead(frame, "parquet", None, None, 0)
    name_columns(read, names, name)
    return read


def _text_column(column) -> pd.Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    simple = (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_date(kind)
    )
    if simple:
        try:
            text = pc.cast(column, pa.string())
            return pd.Series(text.to_pandas(types_mapper=lambda t: _STRING), dtype=_STRING)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return pd.Series([cell_text(v) for v in column.to_pylist()], dtype=_STRING)


def xlsx_bytes(frame: pd.DataFrame, sheet: str, neutralize: bool) -> bytes:
    """A one-sheet workbook: text stays text (never a formula), numbers stay numbers.

    Characters XML cannot hold (control characters other than tab and newlines) are
    dropped: an .xlsx file has no way to store them.
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31] or "Sheet1")

    def cell(value: Any):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool | int | float | date):
            return value
        text = ILLEGAL_CHARACTERS_RE.sub("", value if isinstance(value, str) else str(value))
        if neutralize:
            text = neutralize_formula(text)
        if text.startswith("="):  # kept verbatim: must be stored as text, not a formula
            written = WriteOnlyCell(worksheet, value=text)
            written.data_type = "s"
            return written
        return text

    worksheet.append([cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        worksheet.append([cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet, its own column types kept (text as UTF-8 strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.rename(columns=str), preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def read_jsonl(data: bytes, name: str, encoding: str | None, steps: ReadSteps) -> TableRead:
    body, used = to_utf8(data, encoding, name, lambda done: steps.at(1, done))
    records: list[dict[str, str | None]] = []
    lines: list[int] = []
    position = 0
    for number, raw in enumerate(body.split(b"\n"), 1):
        position += len(raw) + 1
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as error:
            raise UserError(MSG_BAD_JSON, str(error), name=name, line=number) from error
        if not isinstance(value, dict):
            raise UserError(MSG_NOT_OBJECT, name=name, line=number)
        records.append({str(k): json_text(v) for k, v in value.items()})
        lines.append(number)
        if number % 16384 == 0:
            steps.at(2, position)
    if not records:
        raise UserError(MSG_EMPTY, name=name)
    frame = pd.DataFrame.from_records(records).astype(_STRING)
    read = TableRead(frame, "jsonl", used, None, 0, line_numbers=np.asarray(lines, np.int64))
    name_columns(read, list(frame.columns), name)
    return read


def json_text(value: Any) -> str | None:
    """A JSON value as text: strings as they are, anything else in JSON spelling."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def cell_text(value: Any) -> str | None:
    """A spreadsheet or Parquet value as the text a person would type for it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(value)} bytes>"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=cell_text)
    return str(value)


def table_bytes(
    frame: pd.DataFrame, format: str, neutralize: bool, delimiter: str | None, sheet: str, bom: bool
) -> bytes:
    """The bytes of ``frame`` saved as ``format`` in UTF-8 (see ``tables.write_table``)."""
    if format in ("csv", "tsv"):
        text = _text_frame(frame, neutralize)
        buffer = io.StringIO()
        text.to_csv(
            buffer,
            index=False,
            sep=delimiter or ("\t" if format == "tsv" else ","),
            lineterminator="\n",
            na_rep="",
            quoting=csv.QUOTE_MINIMAL,
        )
        data = buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")
    elif format == "xlsx":
        data = xlsx_bytes(frame, sheet, neutralize)
    elif format == "jsonl":
        source = _text_frame(frame, True) if neutralize else frame
        text = source.to_json(orient="records", lines=True, force_ascii=False)
        data = (text if text.endswith("\n") or not text else text + "\n").encode("utf-8")
    else:
        data = parquet_bytes(_text_frame(frame, True) if neutralize else frame)
    return data


def _text_frame(frame: pd.DataFrame, neutralize: bool) -> pd.DataFrame:
    """Every column as text (missing stays missing), defused against formulas if asked."""
    columns = [neutralize_formula(str(c)) if neutralize else str(c) for c in frame.columns]
    text = pd.DataFrame({i: frame.iloc[:, i].astype(_STRING) for i in range(frame.shape[1])})
    if neutralize:
        for i in range(text.shape[1]):
            column = text[i]
            risky = column.str.startswith(FORMULA_PREFIXES, na=False)
            if risky.any():
                column = column.copy()
                column[risky] = column[risky].map(neutralize_formula)
                text[i] = column
    return text.set_axis(columns, axis=1)
