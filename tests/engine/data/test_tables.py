"""engine.data.tables.table_io: reading tables in any encoding and delimiter, failing clearly,
writing back."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from engine.core import atomic
from engine.core.jobs import Cancelled, CancelToken, UserError
from engine.data.tables import common as tables_common
from engine.data.tables import detect as tables_detect
from engine.data.tables import table_io as tables
from engine.data.tables.encoding_guess import MSG_BINARY
from engine.data.tables.table_io import read_table, write_table
from tests.helpers.tables import (
    ALL_TEXTS,
    assert_same,
    expect_error,
    sample_frame,
)

# --------------------------------------------------------------------- formats


TRICKY = pd.DataFrame(
    {
        "文本": [
            'a, "quoted"\ttab',
            "line one\nline two",
            "مرحبا بالعالم",
            "Всё отлично",
            "007",
            "café ☕ 😀",
            "plain",
        ],
        "التصنيف": ["x", "y", "x", "z", "y", "x", "z"],
        "note": ["", "second", "", "fourth", "fifth", "", "last"],
    },
    dtype="string",
)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_each_format_round_trips_text_exactly(tmp_path, fmt):
    frame = TRICKY.copy()
    if fmt == "xlsx":  # an empty Excel cell has no value at all
        frame["note"] = frame["note"].replace("", pd.NA)
    path = tmp_path / f"data.{fmt}"
    write_table(frame, path, fmt)
    read = read_table(path)
    assert read.format == fmt
    assert_same(read, frame)
    assert read.frame.dtypes.map(str).tolist() == ["string"] * 3
    if fmt in ("csv", "tsv"):
        assert read.encoding == "utf-8" and read.delimiter == ("\t" if fmt == "tsv" else ",")
        assert read.line_numbers.tolist() == [2, 3, 5, 6, 7, 8, 9]  # row 2 spans lines 3-4
    if fmt == "jsonl":
        assert read.line_numbers.tolist() == list(range(1, 8))


def test_binary_formats_are_recognised_by_content_not_name(tmp_path):
    frame = sample_frame(ALL_TEXTS, 10)
    write_table(frame, tmp_path / "book.xlsx", "xlsx")
    write_table(frame, tmp_path / "data.parquet", "parquet")
    (tmp_path / "book.xlsx").rename(tmp_path / "book.csv")
    (tmp_path / "data.parquet").rename(tmp_path / "data.txt")
    assert read_table(tmp_path / "book.csv").format == "xlsx"
    assert read_table(tmp_path / "data.txt").format == "parquet"
    assert_same(read_table(tmp_path / "data.txt"), frame)


def test_format_can_be_forced(tmp_path):
    path = tmp_path / "records.log"
    path.write_text(
        '{"text": "hi", "label": "a"}\n{"text": "yo", "label": "b"}\n', encoding="utf-8"
    )
    assert read_table(path).format == "jsonl"  # sniffed from "{"
    read = read_table(path, format="csv", delimiter="|")
    assert read.format == "csv" and read.frame.shape == (1, 1)


def test_values_stay_text_and_missing_stays_missing(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("code,name,extra\n007,a\n010,b,\n", encoding="utf-8")
    read = read_table(path)
    assert read.frame["code"].tolist() == ["007", "010"]
    assert read.frame["extra"].isna().tolist() == [True, False]  # short row vs empty field
    assert read.line_numbers.tolist() == [2, 3]


def test_jsonl_values_keep_json_spelling(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        {"text": "a", "n": 1, "f": 2.5, "ok": True, "none": None, "list": [1, "二"]},
        {"text": "b", "extra": "only here"},
    ]
    path.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n", encoding="utf-8"
    )
    frame = read_table(path).frame
    assert list(frame.columns) == ["text", "n", "f", "ok", "none", "list", "extra"]
    assert frame.iloc[0, :6].tolist()[:4] == ["a", "1", "2.5", "true"]
    assert frame.iloc[0]["list"] == '[1, "二"]'
    assert pd.isna(frame.iloc[0]["none"]) and pd.isna(frame.iloc[1]["n"])


def test_xlsx_cells_read_as_displayed_with_excel_row_numbers(tmp_path):
    import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Notes"
    first["A1"] = "ignored"
    sheet = workbook.create_sheet("Data")
    sheet.append([])
    sheet.append(["text", "label", "when", "score"])
    sheet.append(["one", 1, datetime.datetime(2024, 5, 1), 3.0])
    sheet.append([])
    sheet.append(["two", 2, datetime.date(2024, 5, 2), 0.25])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    read = read_table(path, sheet="Data")
    assert read.sheet == "Data" and read.header_line == 2
    assert read.frame.values.tolist() == [
        ["one", "1", "2024-05-01", "3"],
        ["two", "2", "2024-05-02", "0.25"],
    ]
    assert read.line_numbers.tolist() == [3, 5]
    error = expect_error(tables_common.MSG_NO_SHEET, path, sheet="Sheet9")
    assert error.params["sheets"] == "Notes, Data"
    expect_error(tables_common.MSG_NO_ROWS, path)  # the first sheet holds only a header


def test_parquet_columns_of_any_type_become_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "text": ["a", None, "c"],
            "n": [1, 2, None],
            "x": [0.5, 1.0, 2.0],
            "b": [True, False, None],
        }
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    read = read_table(path)
    assert read.line_numbers is None and read.encoding is None
    assert read.frame.astype(object).where(read.frame.notna(), None).values.tolist() == [
        ["a", "1", "0.5", "true"],
        [None, "2", "1", "false"],
        ["c", None, "2", None],
    ]


# --------------------------------------------------------------------- bad tables


@pytest.mark.parametrize("content", [b"", b"  \r\n\n\t ", b"\xef\xbb\xbf\r\n", b"\xff\xfe"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    expect_error(tables_common.MSG_EMPTY, path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet"])
def test_header_only(tmp_path, suffix):
    path = tmp_path / f"header{suffix}"
    write_table(
        pd.DataFrame({"text": pd.Series([], dtype="string"), "label": []}), path, suffix[1:]
    )
    if suffix == ".jsonl":
        path.write_text("")  # JSON Lines has no header: it is just empty
        expect_error(tables_common.MSG_EMPTY, path)
    else:
        expect_error(tables_common.MSG_NO_ROWS, path)


def test_ragged_row_names_its_physical_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        'text,label\n"two\nlines",a\n\nok,b\nshort\ntoo,many,fields\nlast,c\n', encoding="utf-8"
    )
    error = expect_error(tables.MSG_RAGGED, path)
    assert error.params == {"name": "ragged.csv", "line": 7, "found": 3, "expected": 2}
    assert "line 7" in error.message


def test_duplicate_column_names_are_named(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("text,label,text,label,x\na,b,c,d,e\n", encoding="utf-8")
    error = expect_error(tables_common.MSG_DUPLICATE_COLUMNS, path)
    assert "text" in error.params["columns"] and "label" in error.params["columns"]


def test_unnamed_columns_are_named_or_dropped(tmp_path):
    path = tmp_path / "unnamed.csv"
    path.write_text("text,,label,\na,1,x,\nb,2,y,\n", encoding="utf-8")
    read = read_table(path)
    assert list(read.frame.columns) == ["text", "column_2", "label"]
    assert [w.msgid for w in read.warnings] == [tables_common.MSG_UNNAMED_COLUMN]


@pytest.mark.parametrize(
    "junk",
    [
        random.Random(1).randbytes(5000),
        bytes(b for b in random.Random(2).randbytes(5000) if b),  # no NUL byte to give it away
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    ],
)
def test_binary_junk(tmp_path, junk):
    path = tmp_path / "junk.csv"
    path.write_bytes(junk)
    expect_error(MSG_BINARY, path)


def test_corrupt_binary_formats(tmp_path):
    bad_xlsx = tmp_path / "bad.xlsx"
    bad_xlsx.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    expect_error(tables_common.MSG_BAD_XLSX, bad_xlsx)
    not_xlsx = tmp_path / "text.xlsx"
    not_xlsx.write_text("a,b\n1,2\n")
    expect_error(tables_common.MSG_BAD_XLSX, not_xlsx)
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"PAR1" + b"\x01\x02" * 100 + b"PAR1")
    expect_error(tables_common.MSG_BAD_PARQUET, bad_parquet)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    expect_error(tables_detect.MSG_OLD_EXCEL, old)


def test_invalid_jsonl_lines_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n\n{"text": "b", "label": \n', encoding="utf-8")
    assert expect_error(tables_common.MSG_BAD_JSON, path).params["line"] == 3
    path.write_text('{"text": "a"}\n["not", "an", "object"]\n', encoding="utf-8")
    assert expect_error(tables_common.MSG_NOT_OBJECT, path).params["line"] == 2


def test_missing_file_folder_and_permission(tmp_path, monkeypatch):
    expect_error(tables.MSG_NOT_FOUND, tmp_path / "nope.csv")
    expect_error(tables.MSG_IS_FOLDER, tmp_path)
    locked = tmp_path / "locked.csv"
    locked.write_text("a,b\n1,2\n")

    def refuse(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    from engine.core import regular_files  # tables open files through it (regular files only)

    monkeypatch.setattr(regular_files, "open", refuse, raising=False)
    expect_error(tables.MSG_PERMISSION, locked)


def test_messages_translate_and_fill_their_placeholders(tmp_path):
    from engine.core import i18n

    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3\n", encoding="utf-8")
    error = expect_error(tables.MSG_RAGGED, path)
    i18n.set_language("zh_CN")
    assert "ragged.csv" in error.message and "2" in error.message  # never a KeyError


# --------------------------------------------------------------------- line numbers, progress


def test_line_numbers_follow_multiline_fields_and_blank_lines(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        '\n\ntext,label\n"a\nb\nc",x\n\n\nd,y\n"e ""quoted""\r\nf",z\n', encoding="utf-8"
    )
    read = read_table(path)
    assert read.header_line == 3
    assert read.frame["text"].tolist() == ["a\nb\nc", "d", 'e "quoted"\r\nf']
    assert read.line_numbers.tolist() == [4, 9, 10]


def test_progress_reaches_the_end_and_cancel_stops(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    frame = sample_frame(ALL_TEXTS, 2000)
    write_table(frame, path, "csv")
    reports = []
    read_table(path, progress=lambda done, total, message: reports.append((done, total, message)))
    assert reports[-1][0] == reports[-1][1] and "rows.csv" in reports[-1][2]
    monkeypatch.setattr(tables, "_ONE_READ", 1000)  # the chunked read big files take
    assert_same(read_table(path), frame)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        read_table(path, cancel=token)


# --------------------------------------------------------------------- writing


def test_written_csv_is_safe_from_formula_injection_unless_asked(tmp_path):
    frame = pd.DataFrame(
        {"text": ['=HYPERLINK("x")', "+1", "-2", "@a", "fine", None]}, dtype="string"
    )
    path = tmp_path / "out.csv"
    write_table(frame, path, "csv")
    assert read_table(path).frame["text"].tolist()[:5] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'-2",
        "'@a",
        "fine",
    ]
    write_table(frame, path, "csv", neutralize=False)
    assert read_table(path).frame["text"].tolist()[:2] == ['=HYPERLINK("x")', "+1"]
    write_table(frame, tmp_path / "out.jsonl", "jsonl")  # not opened by spreadsheets
    assert read_table(tmp_path / "out.jsonl").frame["text"].iloc[0] == '=HYPERLINK("x")'
    write_table(frame, tmp_path / "raw.xlsx", "xlsx", neutralize=False)
    assert read_table(tmp_path / "raw.xlsx").frame["text"].iloc[0] == '=HYPERLINK("x")'
    write_table(frame, path, "csv", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_table(path).encoding == "utf-8-sig"


def test_write_permission_error_is_a_user_error(tmp_path, monkeypatch):
    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic, "write_atomic", refuse)
    with pytest.raises(UserError) as caught:
        write_table(TRICKY, tmp_path / "x.csv", "csv")
    assert caught.value.params == {"name": "x.csv"}
