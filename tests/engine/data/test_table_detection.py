"""engine.data.tables: encodings and delimiters detected, and which column holds what."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.tables import detect as tables_detect
from engine.data.tables import table_io as tables
from engine.data.tables.table_io import ColumnGuess, guess_columns, read_table
from tests.helpers.tables import (
    ALL_TEXTS,
    TEXTS,
    assert_same,
    csv_text,
    expect_error,
    sample_frame,
)

# --------------------------------------------------------------------- encodings


ENCODED = [
    ("zh", "gb18030", "gb18030"),
    ("zh", "gbk", "gb18030"),
    ("zh_hant", "big5", "big5"),
    ("ja", "cp932", "cp932"),
    ("ja", "shift_jis", "cp932"),
    ("ko", "euc_kr", "cp949"),
    ("ru", "cp1251", "cp1251"),
    ("ru", "koi8_r", "koi8-r"),
    ("ar", "cp1256", "cp1256"),
    ("fr", "cp1252", "cp1252"),
    ("de", "cp1252", "cp1252"),
    ("fr", "latin-1", "cp1252"),
]


@pytest.mark.parametrize(("language", "encoding", "detected"), ENCODED)
def test_legacy_encodings_are_detected_and_decoded_exactly(tmp_path, language, encoding, detected):
    frame = sample_frame(TEXTS[language], 40)
    frame = frame.rename(
        columns={
            "text": {"zh": "文本", "ja": "本文", "ar": "نص", "ru": "текст"}.get(language, "text")
        }
    )
    path = tmp_path / f"{language}.csv"
    path.write_bytes(csv_text(frame).encode(encoding))
    read = read_table(path)
    assert read.encoding == detected
    assert_same(read, frame)


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"]
)
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

    assert (
        tables_columns._by_name(
            ["stage", "percentage", "контекст"], tables_columns._LABEL_NAMES + ("текст",)
        )
        is None
    )
    japanese = frame.rename(columns={"text": "レビュー本文", "label": "ラベル"})
    assert guess_columns(japanese, "text") == ColumnGuess("レビュー本文", "ラベル")


def test_guess_by_content_when_names_say_nothing():
    rng = np.random.default_rng(0)
    rows = 500
    frame = pd.DataFrame(
        {
            "a": [str(i) for i in range(rows)],
            "b": [f"{rng.choice(ALL_TEXTS)} #{i}" for i in range(rows)],
            "c": rng.choice(["sports", "politics", "tech"], rows),
            "d": [f"2024-01-{i % 28 + 1:02d}" for i in range(rows)],
        },
        dtype="string",
    )
    assert guess_columns(frame, "text") == ColumnGuess("b", "c")


def test_guess_image_path_and_label():
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(60)],
            "caption": [f"a photo number {i}" for i in range(60)],
            "where": [f"photos/{i:03d}.JPG" for i in range(60)],
            "animal": ["cat", "dog", "bird"] * 20,
        },
        dtype="string",
    )
    assert guess_columns(frame, "image") == ColumnGuess("where", "animal")
    assert guess_columns(frame.drop(columns="where"), "image").item is None


def test_guess_on_a_large_frame_is_quick():
    import time

    frame = sample_frame(ALL_TEXTS, 200_000)
    started = time.perf_counter()
    assert guess_columns(frame, "text") == ColumnGuess("text", "label")
    # A budget that catches a guess gone badly slow on a big table (quadratic work, a model
    # per cell), not a benchmark: it takes ~0.1 s here, and well under a second when even
    # every row is profiled, so a loaded shared machine stays far inside it.
    assert time.perf_counter() - started < 10


def test_trailing_whitespace_lines_are_not_rows(tmp_path):
    path = tmp_path / "tail.csv"
    path.write_text("text,label\nkeep my spaces   ,a\n  \n\t\n\n", encoding="utf-8")
    read = read_table(path)
    assert read.frame.values.tolist() == [["keep my spaces   ", "a"]]
    assert read.line_numbers.tolist() == [2]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('text,label\na,b\nc,"never closed\nd,e\nf,g\n', 3),  # pyarrow would swallow the rest
        ('text,label\na,b\n"never closed,c\nd,e\n', 3),
    ],
)
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
