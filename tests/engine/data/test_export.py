"""engine.data.result_export and engine.core.atomic: files read back with csv, pandas and json."""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.core import atomic
from engine.core.atomic import write_atomic
from engine.core.jobs import UserError
from engine.data import result_export as export
from engine.data.result_export import export_results_csv, export_results_json, neutralize_formula

ROWS = [
    {
        "path": "/photos/猫 🐱.jpg",
        "label": "Katze",
        "score": 0.9132,
        "top": [{"label": "Katze", "score": 0.9132}, {"label": "狗", "score": 0.05}],
        "error": None,
    },
    {
        "path": '=HYPERLINK("http://evil","click").png',
        "label": "+1",
        "score": 0.5,
        "top": [{"label": "-2", "score": 0.5}, {"label": "a", "score": 0.25}],
        "error": None,
    },
    {"path": "@SUM(A1).png", "label": "\tx", "score": 1.0, "top": [], "error": None},
    {"path": "broken.jpg", "label": None, "score": None, "top": [], "error": "\rx damaged, «كسر»"},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("cat", "cat"),
        ("a=b", "a=b"),
        ("", ""),
        ("猫", "猫"),
    ],
)
def test_neutralize_formula(value, expected):
    assert neutralize_formula(value) == expected


def test_csv_has_bom_and_reads_back_with_csv(tmp_path):
    path = tmp_path / "results.csv"
    export_results_csv(ROWS, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["path", "label", "score", "top5", "error"]
    assert table[1] == ["/photos/猫 🐱.jpg", "Katze", "0.9132", "Katze (0.91); 狗 (0.05)", ""]
    assert table[2] == [
        "'=HYPERLINK(\"http://evil\",\"click\").png", "'+1", "0.5", "'-2 (0.50); a (0.25)", "",
    ]  # fmt: skip
    assert table[3] == ["'@SUM(A1).png", "'\tx", "1.0", "", ""]
    assert table[4] == ["broken.jpg", "", "", "", "'\rx damaged, «كسر»"]


def test_no_text_cell_starts_a_formula(tmp_path):
    path = tmp_path / "results.csv"
    export_results_csv(ROWS, path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in ("path", "label", "top5", "error"):
            assert not row[column].startswith(export.FORMULA_PREFIXES), (column, row[column])


def test_csv_reads_back_with_pandas_scores_numeric(tmp_path):
    path = tmp_path / "results.csv"
    export_results_csv(ROWS, path)
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    assert list(frame.columns) == ["path", "label", "score", "top5", "error"]
    assert frame["score"].dtype.kind == "f"
    assert frame["score"].tolist()[:3] == [0.9132, 0.5, 1.0]
    assert math.isnan(frame["score"].iloc[3])
    assert frame["path"].iloc[0] == "/photos/猫 🐱.jpg"
    assert frame["error"].iloc[3] == "'\rx damaged, «كسر»"


def test_top5_keeps_only_five():
    top = [{"label": f"c{i}", "score": 0.1} for i in range(8)]
    assert export.format_top(top) == "; ".join(f"c{i} (0.10)" for i in range(5))


def test_json_round_trip(tmp_path):
    path = tmp_path / "results.json"
    export_results_json(ROWS, path)
    text = path.read_text(encoding="utf-8")
    assert "猫 🐱" in text and "كسر" in text  # not \u-escaped
    assert json.loads(text) == ROWS  # JSON is lossless: no formula prefixes


def test_json_is_valid_with_nan_and_path_objects(tmp_path):
    rows = [{"path": Path("a.png"), "label": "x", "score": float("nan"),
             "top": [{"label": "x", "score": float("inf")}], "error": None}]  # fmt: skip
    path = tmp_path / "odd.json"
    export_results_json(rows, path)
    assert json.loads(path.read_text(encoding="utf-8")) == [
        {"path": "a.png", "label": "x", "score": None,
         "top": [{"label": "x", "score": None}], "error": None}
    ]  # fmt: skip


def test_export_replaces_existing_file_without_leftovers(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    export_results_json(ROWS[:1], path)
    assert json.loads(path.read_text(encoding="utf-8"))[0]["label"] == "Katze"
    assert sorted(os.listdir(tmp_path)) == ["results.json"]


def test_failed_write_keeps_old_file_and_raises_user_error(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    path.write_text("old", encoding="utf-8")

    def refuse(source, target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(UserError) as caught:
        export_results_csv(ROWS, path)
    assert caught.value.msgid == atomic.MSG_WRITE_PERMISSION
    assert "results.csv" in caught.value.message
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(os.listdir(tmp_path)) == ["results.csv"]


def test_missing_folder_raises_user_error(tmp_path):
    with pytest.raises(UserError) as caught:
        export_results_json(ROWS, tmp_path / "no" / "such" / "out.json")
    assert caught.value.msgid == atomic.MSG_WRITE_FAILED


def test_write_atomic_bytes(tmp_path):
    path = tmp_path / "data.bin"
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    write_atomic(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["data.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_write_atomic_permissions(tmp_path):
    path = tmp_path / "data.bin"
    write_atomic(path, b"a")
    assert path.stat().st_mode & 0o777 == 0o666 & ~atomic._umask()  # not mkstemp's 0600
    path.chmod(0o640)
    write_atomic(path, b"b")
    assert path.stat().st_mode & 0o777 == 0o640
