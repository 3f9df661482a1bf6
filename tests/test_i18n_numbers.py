"""Numbers inside messages are shown in the UI language's digits; data keeps plain numbers."""

from __future__ import annotations

import json

from engine.cleaning import text_checks
from engine.cleaning.report import findings_json
from engine.core import i18n
from engine.core.i18n import Message
from tests.helpers.texts import dataset

ARABIC_1234 = "\u0661\u066c\u0662\u0663\u0664"  # ١٬٢٣٤: Arabic-Indic digits, Arabic grouping


def _empty_rows_finding(blank: int = 1234):
    texts = [""] * blank + ["A sentence with enough words to count as text."] * 3
    data = dataset(texts, ["a"] * len(texts))
    (finding,) = text_checks.check_empty(data)
    return data, finding


def test_arabic_finding_title_uses_arabic_digits_and_grouping():
    _data, finding = _empty_rows_finding()
    i18n.set_language("ar")
    assert finding.title.text() == f"{ARABIC_1234} صفًا بلا نص"  # CLDR "many" for 1234
    assert finding.fix is not None and ARABIC_1234 in finding.fix.description.text()


def test_english_groups_thousands():
    _data, finding = _empty_rows_finding()
    assert finding.title.text() == "1,234 rows have no text"
    assert finding.fix is not None
    assert finding.fix.description.text() == "Remove 1,234 rows without text"


def test_plural_form_is_chosen_from_the_number_not_its_text():
    i18n.set_language("ar")
    rows = {n: Message("{n} row", {"n": n}, "{n} rows", n).text() for n in (1, 2, 5, 11, 1234)}
    assert rows == {
        1: "صف واحد",
        2: "صفان",
        5: "\u0665 صفوف",
        11: "\u0661\u0661 صفًا",
        1234: f"{ARABIC_1234} صفًا",
    }


def test_only_real_numbers_change():
    """Bools, number-like strings (years in file names, ids in paths) and fields with their
    own format spec are shown exactly as given."""
    message = Message(
        "{name} {path} {flag} {share:.1f} {size}",
        {"name": "2019.csv", "path": "runs/1234/model", "flag": True, "share": 0.25, "size": 2.5},
    )
    i18n.set_language("ar")
    assert message.text() == "2019.csv runs/1234/model True 0.2 \u0662\u066b\u0665"
    i18n.set_language("en")
    assert message.text() == "2019.csv runs/1234/model True 0.2 2.5"


def test_json_keeps_plain_numbers_in_every_language():
    data, finding = _empty_rows_finding()
    i18n.set_language("ar")
    report = json.loads(json.dumps(findings_json(data, [finding]), ensure_ascii=False))
    (as_json,) = report["findings"]
    assert as_json["title"]["params"] == {"n": 1234} and as_json["title"]["count"] == 1234
    assert as_json["fix"]["description"]["params"] == {"n": 1234}
    assert as_json["stats"] == {"rows": 1234}
    assert ARABIC_1234 in as_json["title_text"]  # the display text is what the user reads
    again = Message.from_json(as_json["title"])
    assert again.params == {"n": 1234} and again.text() == as_json["title_text"]


def test_cli_text_shows_arabic_digits_and_cli_json_keeps_plain_numbers(
    tmp_path, capsys, monkeypatch
):
    from ui.cli import main

    monkeypatch.setattr("engine.cleaning.run._text_vectors", lambda *args: None)
    table = tmp_path / "data.csv"
    good = [
        f"Sentence number {word} about the weather and long enough to be text"
        for word in ("one", "two", "three", "four", "five", "six")
    ]
    table.write_text(
        "text,label\n" + ",a\n" * 1234 + "".join(f"{t},b\n" for t in good), encoding="utf-8"
    )
    assert main(["inspect", str(table), "--lang", "ar"]) == 0
    assert f"{ARABIC_1234} صفًا بلا نص" in capsys.readouterr().out
    assert main(["inspect", str(table), "--json", "--lang", "ar"]) == 0
    report = json.loads(capsys.readouterr().out)
    empty = next(f for f in report["findings"] if f["kind"] == "text.empty")
    assert empty["title"]["params"] == {"n": 1234} and len(empty["row_ids"]) == 1234
    assert ARABIC_1234 in empty["title_text"]


def test_a_port_or_a_line_is_named_not_counted_and_an_error_reads_as_in_the_window():
    from engine.core.jobs import UserError
    from engine.data.tables.table_io import MSG_BAD_ROW
    from ui.pages.models.service import MSG_PORT_TAKEN

    port = UserError(MSG_PORT_TAKEN, port=8080)
    row = UserError(MSG_BAD_ROW, "details", name="inbox.csv", line=12345)
    assert port.message.startswith("Port 8080 is already in use")
    assert row.message == "inbox.csv: line 12345 cannot be read as a table row."
    i18n.set_language("ar")
    assert "\u0668\u0660\u0668\u0660" in port.message  # ٨٠٨٠: Arabic digits, no grouping
    assert port.message == port.as_message().text()  # the CLI says what the window says
    empty = UserError("{n} rows have no text", n=1234)
    assert ARABIC_1234 in empty.message


def test_a_list_of_classes_and_counts_is_written_in_the_ui_language():
    from engine.cleaning.label_checks import check_too_few

    texts = [f"A sentence number {i} about nothing much" for i in range(1210)]
    labels = ["big"] * 1200 + ["tiny"] * 5 + ["small"] * 5
    (finding,) = check_too_few(dataset(texts, labels))
    assert finding.explanation.text().endswith("small (5) and tiny (5).")
    i18n.set_language("ar")
    assert "(\u0665)" in finding.explanation.text() and "(5)" not in finding.explanation.text()
    as_json = json.loads(json.dumps(finding.explanation.to_json()))
    assert as_json["params"]["classes"] == [["small", 5], ["tiny", 5]]  # data, not prose
