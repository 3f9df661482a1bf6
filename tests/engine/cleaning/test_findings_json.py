"""Findings name their rows: ``inspect --json`` and the reports list every affected row."""

from __future__ import annotations

import json

from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.report import build_html, findings_json
from tests.helpers.texts import clean_rows, dataset


def _table(tmp_path, texts, labels):
    import csv

    path = tmp_path / "data.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


def test_inspect_json_names_every_flagged_row(tmp_path, capsys, monkeypatch):
    from ui.cli import main

    # TF-IDF keeps the test quick; the e5 path is exercised by the label-check tests.
    monkeypatch.setattr("engine.cleaning.run._text_vectors", lambda *args: None)
    texts, labels = clean_rows()
    texts = texts + texts[:30]  # 30 exact duplicates: a grouped finding
    labels = labels + labels[:30]
    original = list(labels)
    classes = sorted(set(labels))
    for row in (40, 150, 260):  # planted errors: moved to the next class
        labels[row] = classes[(classes.index(labels[row]) + 1) % len(classes)]
    table = _table(tmp_path, texts, labels)
    assert main(["inspect", str(table), "--json", "--lang", "en"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"]
    for finding in report["findings"]:
        rows = finding["rows"]
        assert [row["row"] for row in rows] == finding["row_ids"]  # every row, no cap
        assert all("item" in row and "label" in row for row in rows)
    by_kind = {finding["kind"]: finding for finding in report["findings"]}
    duplicates = next(f for kind, f in by_kind.items() if "duplicate" in kind)
    assert len(duplicates["rows"]) == 60 and all("group" in row for row in duplicates["rows"])
    errors = by_kind["label.likely_errors"]
    for row in errors["rows"]:
        assert row["suggested_label"] != row["label"] and 0 < row["confidence"] <= 1
    flagged = {row["row"]: row for row in errors["rows"]}
    assert {40, 150, 260} <= set(flagged)
    assert flagged[40]["suggested_label"] == original[40]  # the label before the flip
    assert flagged[40]["item"] == texts[40]


def _many_rows_finding(n: int) -> Finding:
    return Finding(
        "text.empty", "error", Message("Empty"), Message("Empty rows"), row_ids=tuple(range(n))
    )


def test_json_lists_all_rows_and_html_caps_with_a_count():
    texts = [f"row {i}" for i in range(450)]
    data = dataset(texts, ["a"] * 450)
    finding = _many_rows_finding(450)
    (as_json,) = findings_json(data, [finding])["findings"]
    assert len(as_json["rows"]) == 450 and as_json["rows"][449]["item"] == "row 449"
    html = build_html(data, [finding])
    assert "row 199" in html and "row 200<" not in html
    assert "… and 250 more rows" in html


def test_html_shows_suggested_label_and_kept_row():
    texts, labels = clean_rows()
    data = dataset(texts[:4], labels[:4])
    errors = Finding(
        "label.likely_errors",
        "warning",
        Message("Wrong"),
        Message("Wrong"),
        row_ids=(1,),
        row_details={1: {"suggested_label": "zzz-suggested", "confidence": 0.93}},
    )
    twins = Finding(
        "text.exact_duplicates",
        "warning",
        Message("Dup"),
        Message("Dup"),
        row_ids=(2, 3),
        groups=((2, 3),),
        kept=(2,),
        fix=Fix("keep_one", {"groups": [[2, 3]]}, Message("Keep one")),
    )
    html = build_html(data, [errors, twins])
    assert "zzz-suggested" in html and "93%" in html
    assert ">kept<" in html and ">removed<" in html


def test_a_missing_text_is_named_as_missing_not_as_pandas_writes_it(tmp_path):
    from engine.cleaning import text_checks
    from engine.data.dataset_io import load_dataset

    path = _table(tmp_path, ["A full sentence here", "", "Another sentence"], ["a", "b", "a"])
    data = load_dataset(str(path))
    (finding,) = text_checks.check_empty(data)
    (as_json,) = findings_json(data, [finding])["findings"]
    assert [row["item"] for row in as_json["rows"]] == [None]  # null, never "<NA>"
    assert "&lt;NA&gt;" not in build_html(data, [finding])
