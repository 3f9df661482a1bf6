"""engine.data.tables.table_io: reading tables in any encoding and delimiter, failing clearly, writing back."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.jobs import Cancelled, CancelToken, UserError
from engine.data.tables import common as tables_common
from engine.data.tables import detect as tables_detect
from engine.data.tables import table_io as tables
from engine.data.tables.table_io import ColumnGuess, guess_columns, read_table, write_table

TEXTS = {
    "zh": ["这个产品的质量非常好，我很满意。", "物流速度太慢了，等了一个星期才到。",
           "客服态度很好，耐心解答了我的问题。", "价格有点贵，但是东西不错。", "包装破损了，里面的东西也坏了。"],
    "zh_hant": ["這個產品的品質非常好，我很滿意。", "物流速度太慢了，等了一個星期才到。",
                "客服態度很好，耐心解答了我的問題。", "價格有點貴，但是東西不錯。"],
    "ja": ["この商品はとても良かったです。", "配送が遅くて残念でした。", "サポートの対応が丁寧でした。",
           "値段は高いですが、品質は良いです。", "箱が壊れていて、中身も傷ついていました。"],
    "ko": ["이 제품 정말 좋아요. 만족합니다.", "배송이 너무 늦었어요.", "고객 서비스가 친절했습니다.",
           "가격은 비싸지만 품질은 좋아요."],
    "ru": ["Отличный товар, очень доволен покупкой.", "Доставка была слишком долгой.",
           "Служба поддержки ответила быстро и вежливо.", "Цена высокая, но качество хорошее."],
    "ar": ["المنتج ممتاز وأنا راضٍ جداً عنه.", "كان التوصيل بطيئاً جداً.",
           "خدمة العملاء كانت مهذبة وسريعة.", "السعر مرتفع لكن الجودة جيدة."],
    "fr": ["Très bon produit, je suis très satisfait.", "La livraison était beaucoup trop lente.",
           "Le service client a été poli et rapide.", "Ça marche très bien, déçu par rien.",
           "L'emballage était abîmé à la réception."],
    "de": ["Sehr gutes Produkt, ich bin zufrieden.", "Die Lieferung dauerte viel zu lange – schade.",
           "Der Kundendienst war höflich und schnell.", "Größe passt, Farbe ist schön."],
    "pl": ["Świetny produkt, jestem bardzo zadowolony.", "Dostawa trwała zdecydowanie za długo.",
           "Obsługa klienta była uprzejma i szybka.", "Cena wysoka, ale jakość dobra."],
}
LABELS = ["positive", "negative", "neutral"]
ALL_TEXTS = [t for key in ("zh", "ja", "ko", "ru", "ar", "fr", "de") for t in TEXTS[key]]


def sample_frame(texts: list[str], rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame({
        "id": [str(i) for i in range(rows)],
        "text": [rng.choice(texts) for _ in range(rows)],
        "label": [rng.choice(LABELS) for _ in range(rows)],
    }, dtype="string")


def csv_text(frame: pd.DataFrame, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=delimiter, lineterminator=newline)
    return buffer.getvalue()


def assert_same(read: tables.TableRead, frame: pd.DataFrame) -> None:
    assert list(read.frame.columns) == list(frame.columns)
    assert read.frame.astype(object).where(read.frame.notna(), None).values.tolist() == \
        frame.astype(object).where(frame.notna(), None).values.tolist()


def expect_error(msgid: str, path: Path, **options) -> UserError:
    with pytest.raises(UserError) as caught:
        read_table(path, **options)
    assert caught.value.msgid == msgid, caught.value.message
    assert caught.value.params.get("name", path.name) == path.name
    return caught.value


# --------------------------------------------------------------------- formats


TRICKY = pd.DataFrame({
    "文本": ["a, \"quoted\"\ttab", "line one\nline two", "مرحبا بالعالم", "Всё отлично", "007",
             "café ☕ 😀", "plain"],
    "التصنيف": ["x", "y", "x", "z", "y", "x", "z"],
    "note": ["", "second", "", "fourth", "fifth", "", "last"],
}, dtype="string")


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
    path.write_text('{"text": "hi", "label": "a"}\n{"text": "yo", "label": "b"}\n', encoding="utf-8")
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
    lines = [{"text": "a", "n": 1, "f": 2.5, "ok": True, "none": None, "list": [1, "二"]},
             {"text": "b", "extra": "only here"}]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n",
                    encoding="utf-8")
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
    assert read.frame.values.tolist() == [["one", "1", "2024-05-01", "3"],
                                          ["two", "2", "2024-05-02", "0.25"]]
    assert read.line_numbers.tolist() == [3, 5]
    error = expect_error(tables_common.MSG_NO_SHEET, path, sheet="Sheet9")
    assert error.params["sheets"] == "Notes, Data"
    expect_error(tables_common.MSG_NO_ROWS, path)  # the first sheet holds only a header


def test_parquet_columns_of_any_type_become_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["a", None, "c"], "n": [1, 2, None], "x": [0.5, 1.0, 2.0],
                      "b": [True, False, None]})
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    read = read_table(path)
    assert read.line_numbers is None and read.encoding is None
    assert read.frame.astype(object).where(read.frame.notna(), None).values.tolist() == [
        ["a", "1", "0.5", "true"], [None, "2", "1", "false"], ["c", None, "2", None]]


# --------------------------------------------------------------------- encodings


ENCODED = [
    ("zh", "gb18030", "gb18030"), ("zh", "gbk", "gb18030"), ("zh_hant", "big5", "big5"),
    ("ja", "cp932", "cp932"), ("ja", "shift_jis", "cp932"), ("ko", "euc_kr", "cp949"),
    ("ru", "cp1251", "cp1251"), ("ru", "koi8_r", "koi8-r"), ("ar", "cp1256", "cp1256"),
    ("fr", "cp1252", "cp1252"), ("de", "cp1252", "cp1252"), ("fr", "latin-1", "cp1252"),
]


@pytest.mark.parametrize(("language", "encoding", "detected"), ENCODED)
def test_legacy_encodings_are_detected_and_decoded_exactly(tmp_path, language, encoding, detected):
    frame = sample_frame(TEXTS[language], 40)
    frame = frame.rename(columns={"text": {"zh": "文本", "ja": "本文", "ar": "نص",
                                           "ru": "текст"}.get(language, "text")})
    path = tmp_path / f"{language}.csv"
    path.write_bytes(csv_text(frame).encode(encoding))
    read = read_table(path)
    assert read.encoding == detected
    assert_same(read, frame)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32", "utf-32-le"])
def test_unicode_encodings_with_and_without_bom(tmp_path, encoding):
    frame = sample_frame(ALL_TEXTS, 40)
    path = tmp_path / "mixed.csv"
    path.write_bytes(csv_text(frame).encode(encoding))
    read = read_table(path)
    assert read.encoding == encoding
    assert_same(read, frame)  # no BOM character glued to the first column name


def test_an_accent_far_into_an_ascii_file_still_finds_the_encoding(tmp_path):
    frame = sample_frame(["plain ascii text here"], 6000)
    frame.loc[5000, "text"] = "Crème brûlée à la française, déjà vu"
    frame.loc[5500, "text"] = "Ça coûte très cher, même en été"
    path = tmp_path / "late.csv"
    path.write_bytes(csv_text(frame).encode("cp1252"))
    read = read_table(path)
    assert read.encoding == "cp1252"
    assert_same(read, frame)


def test_user_can_override_an_ambiguous_encoding(tmp_path):
    frame = sample_frame(TEXTS["pl"], 40)
    path = tmp_path / "polish.csv"
    path.write_bytes(csv_text(frame).encode("cp1250"))
    read = read_table(path, encoding="windows-1250")
    assert read.encoding == "cp1250"
    assert_same(read, frame)


def test_forced_wrong_encoding_fails_instead_of_garbling(tmp_path):
    frame = sample_frame(["all ascii"], 10)
    frame.loc[6, "text"] = TEXTS["zh"][0]
    path = tmp_path / "chinese.csv"
    path.write_bytes(csv_text(frame).encode("gb18030"))
    error = expect_error(tables_detect.MSG_DECODE, path, encoding="utf-8")
    assert error.params["line"] == 8 and error.params["encoding"] == "utf-8"
    assert "line 8" in error.message and "chinese.csv" in error.message
    error = expect_error(tables_detect.MSG_DECODE, path, encoding="ascii")
    assert error.params["line"] == 8


def test_a_broken_line_in_a_utf8_file_is_named_not_reread_as_another_encoding(tmp_path):
    frame = sample_frame(ALL_TEXTS, 40)
    data = csv_text(frame).encode("utf-8").split(b"\r\n")
    data[30] = data[30][:-2] + b"\xff\xfe"
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\r\n".join(data))
    error = expect_error(tables_detect.MSG_DECODE, path)
    assert error.params == {"name": "broken.csv", "encoding": "utf-8", "line": 31}


def test_an_unknown_encoding_name_is_a_user_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    expect_error(tables_detect.MSG_UNKNOWN_ENCODING, path, encoding="klingon-8")


# --------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path, delimiter):
    frame = sample_frame(TEXTS["fr"] + ["a; b | c, d"], 30)
    path = tmp_path / "data.txt"
    path.write_text(csv_text(frame, delimiter), encoding="utf-8")
    read = read_table(path)
    assert read.delimiter == delimiter
    assert read.format == ("tsv" if delimiter == "\t" else "csv")
    assert_same(read, frame)


def test_semicolons_with_decimal_commas(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("text;price;label\n" + "".join(f"item {i};{i},5;a\n" for i in range(20)))
    read = read_table(path)
    assert read.delimiter == ";" and read.frame["price"].iloc[3] == "3,5"


def test_delimiter_override_and_excel_sep_line(tmp_path):
    path = tmp_path / "hint.csv"
    path.write_text("sep=|\ntext|label\na,b|x\nc;d|y\n", encoding="utf-8")
    read = read_table(path)
    assert read.delimiter == "|" and read.header_line == 2
    assert read.frame.values.tolist() == [["a,b", "x"], ["c;d", "y"]]
    assert read.line_numbers.tolist() == [3, 4]
    plain = tmp_path / "plain.csv"
    plain.write_text("a|b;c\n1|2;3\n4|5;6\n", encoding="utf-8")
    by_semicolon = [["1|2", "3"], ["4|5", "6"]]
    by_bar = [["1", "2;3"], ["4", "5;6"]]
    assert read_table(plain).frame.values.tolist() == by_semicolon  # ambiguous: csv.Sniffer's pick
    forced = read_table(plain, delimiter="|")
    assert forced.delimiter == "|" and forced.frame.values.tolist() == by_bar


def test_single_column_file(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text("sentence\nhello world\n\nsecond line\n", encoding="utf-8")
    read = read_table(path)
    assert read.frame["sentence"].tolist() == ["hello world", "second line"]
    assert read.line_numbers.tolist() == [2, 4]


# --------------------------------------------------------------------- bad tables


@pytest.mark.parametrize("content", [b"", b"  \r\n\n\t ", b"\xef\xbb\xbf\r\n", b"\xff\xfe"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    expect_error(tables_common.MSG_EMPTY, path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet"])
def test_header_only(tmp_path, suffix):
    path = tmp_path / f"header{suffix}"
    write_table(pd.DataFrame({"text": pd.Series([], dtype="string"), "label": []}), path,
                suffix[1:])
    if suffix == ".jsonl":
        path.write_text("")  # JSON Lines has no header: it is just empty
        expect_error(tables_common.MSG_EMPTY, path)
    else:
        expect_error(tables_common.MSG_NO_ROWS, path)


def test_ragged_row_names_its_physical_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('text,label\n"two\nlines",a\n\nok,b\nshort\ntoo,many,fields\nlast,c\n',
                    encoding="utf-8")
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


@pytest.mark.parametrize("junk", [
    random.Random(1).randbytes(5000),
    bytes(b for b in random.Random(2).randbytes(5000) if b),  # no NUL byte to give it away
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
])
def test_binary_junk(tmp_path, junk):
    path = tmp_path / "junk.csv"
    path.write_bytes(junk)
    expect_error(tables_detect.MSG_BINARY, path)


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
    path.write_text('\n\ntext,label\n"a\nb\nc",x\n\n\nd,y\n"e ""quoted""\r\nf",z\n',
                    encoding="utf-8")
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
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+1", "-2", "@a", "fine", None]},
                         dtype="string")
    path = tmp_path / "out.csv"
    write_table(frame, path, "csv")
    assert read_table(path).frame["text"].tolist()[:5] == ["'=HYPERLINK(\"x\")", "'+1", "'-2",
                                                           "'@a", "fine"]
    write_table(frame, path, "csv", neutralize=False)
    assert read_table(path).frame["text"].tolist()[:2] == ["=HYPERLINK(\"x\")", "+1"]
    write_table(frame, tmp_path / "out.jsonl", "jsonl")  # not opened by spreadsheets
    assert read_table(tmp_path / "out.jsonl").frame["text"].iloc[0] == "=HYPERLINK(\"x\")"
    write_table(frame, tmp_path / "raw.xlsx", "xlsx", neutralize=False)
    assert read_table(tmp_path / "raw.xlsx").frame["text"].iloc[0] == "=HYPERLINK(\"x\")"
    write_table(frame, path, "csv", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_table(path).encoding == "utf-8-sig"


def test_write_permission_error_is_a_user_error(tmp_path, monkeypatch):
    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tables, "write_atomic", refuse)
    with pytest.raises(UserError) as caught:
        write_table(TRICKY, tmp_path / "x.csv", "csv")
    assert caught.value.params == {"name": "x.csv"}


# --------------------------------------------------------------------- column guessing


def test_guess_text_and_label_by_name_in_many_languages():
    frame = sample_frame(ALL_TEXTS, 50)
    assert guess_columns(frame, "text") == ColumnGuess("text", "label")
    chinese = frame.rename(columns={"id": "编号", "text": "评论", "label": "类别"})
    assert guess_columns(chinese, "text") == ColumnGuess("评论", "类别")
    arabic = frame.rename(columns={"text": "نص", "label": "تصنيف"})
    assert guess_columns(arabic, "text") == ColumnGuess("نص", "تصنيف")
    spaced = frame.rename(columns={"text": "Review Text", "label": "Sentiment"})
    assert guess_columns(spaced, "text") == ColumnGuess("Review Text", "Sentiment")
    camel = frame.rename(columns={"id": "stage", "text": "ReviewText", "label": "LabelName"})
    assert guess_columns(camel, "text") == ColumnGuess("ReviewText", "LabelName")
    from engine.data.tables import columns as tables_columns

    assert tables_columns._by_name(["stage", "percentage", "контекст"],
                                   tables_columns._LABEL_NAMES + ("текст",)) is None
    japanese = frame.rename(columns={"text": "レビュー本文", "label": "ラベル"})
    assert guess_columns(japanese, "text") == ColumnGuess("レビュー本文", "ラベル")


def test_guess_by_content_when_names_say_nothing():
    rng = np.random.default_rng(0)
    rows = 500
    frame = pd.DataFrame({
        "a": [str(i) for i in range(rows)],
        "b": [f"{rng.choice(ALL_TEXTS)} #{i}" for i in range(rows)],
        "c": rng.choice(["sports", "politics", "tech"], rows),
        "d": [f"2024-01-{i % 28 + 1:02d}" for i in range(rows)],
    }, dtype="string")
    assert guess_columns(frame, "text") == ColumnGuess("b", "c")


def test_guess_image_path_and_label():
    frame = pd.DataFrame({
        "id": [str(i) for i in range(60)],
        "caption": [f"a photo number {i}" for i in range(60)],
        "where": [f"photos/{i:03d}.JPG" for i in range(60)],
        "animal": ["cat", "dog", "bird"] * 20,
    }, dtype="string")
    assert guess_columns(frame, "image") == ColumnGuess("where", "animal")
    assert guess_columns(frame.drop(columns="where"), "image").item is None


def test_guess_on_a_large_frame_is_quick():
    import time

    frame = sample_frame(ALL_TEXTS, 200_000)
    started = time.perf_counter()
    assert guess_columns(frame, "text") == ColumnGuess("text", "label")
    assert time.perf_counter() - started < 2


def test_trailing_whitespace_lines_are_not_rows(tmp_path):
    path = tmp_path / "tail.csv"
    path.write_text("text,label\nkeep my spaces   ,a\n  \n\t\n\n", encoding="utf-8")
    read = read_table(path)
    assert read.frame.values.tolist() == [["keep my spaces   ", "a"]]
    assert read.line_numbers.tolist() == [2]


@pytest.mark.parametrize(("content", "line"), [
    ('text,label\na,b\nc,"never closed\nd,e\nf,g\n', 3),  # pyarrow would swallow the rest
    ('text,label\na,b\n"never closed,c\nd,e\n', 3),
])
def test_an_unclosed_quote_is_named_instead_of_swallowing_the_file(tmp_path, content, line):
    path = tmp_path / "quotes.csv"
    path.write_text(content, encoding="utf-8")
    assert expect_error(tables.MSG_UNCLOSED_QUOTE, path).params["line"] == line
    closed = tmp_path / "closed.csv"
    closed.write_text('text,label\na,"ends with a newline\n"\n', encoding="utf-8")
    assert read_table(closed).frame["label"].tolist() == ["ends with a newline\n"]


def test_every_offered_encoding_exists_and_detected_ones_have_a_display_name():
    import codecs

    for codec, label in tables.SUPPORTED_ENCODINGS:
        codecs.lookup(codec)
        assert label and tables_detect.display_encoding(codec) == label
    for _language, _encoding, detected in ENCODED:
        assert tables_detect.display_encoding(detected) != detected
