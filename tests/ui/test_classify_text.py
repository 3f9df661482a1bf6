"""The Classify page with a text model, driven as a user would: type and classify, see the
label, confidence, language and the words that pushed the decision; classify a table
column and text files; export safely; compare training and input languages; in Arabic."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from engine.core import i18n
from engine.data.dataset_io import load_dataset
from engine.models.package import load_package
from engine.models.training_languages import training_languages
from engine.training import TrainConfig, train
from tests.helpers.qt import drop, settle
from tests.helpers.texts import FOOD, SPORT
from ui.pages.classify.text_results import (
    COLUMN_CONFIDENCE,
    COLUMN_LABEL,
    COLUMN_LANGUAGE,
    COLUMN_SOURCE,
    COLUMN_TEXT,
)

JOB_TIMEOUT_MS = 60_000
SPAN = re.compile(r'<span style="background-color:(#[0-9a-f]{6});">([^<]+)</span>')


@pytest.fixture(scope="module")
def topics_model(tmp_path_factory):
    """A real Instant model trained on English sport and food sentences."""
    folder = tmp_path_factory.mktemp("topics")
    rows = [(text, "sport") for text in SPORT] + [(text, "food") for text in FOOD]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(folder / "topics.csv", index=False)
    dataset = load_dataset(str(folder / "topics.csv"))
    return train(
        dataset, folder / "model", TrainConfig(mode="instant", seed=2), name="Topics"
    ).package


@pytest.fixture
def page(window, qtbot, topics_model):
    settle(window, qtbot)
    page = window.page("classifyPage")
    page.use_model(str(topics_model))
    qtbot.waitUntil(
        lambda: page.model_ready and page.text_mode and page.text_panel.idle, timeout=JOB_TIMEOUT_MS
    )
    yield page
    page.text_panel.cancel()
    qtbot.waitUntil(lambda: page.text_panel.idle, timeout=JOB_TIMEOUT_MS)


def wait_rows(page, qtbot, rows: int) -> None:
    panel = page.text_panel
    qtbot.waitUntil(lambda: panel.idle and panel.model.rowCount() == rows, timeout=JOB_TIMEOUT_MS)


def cell(page, row: int, column: int) -> str:
    proxy = page.text_panel.proxy
    return proxy.index(row, column).data()


def tints(html: str) -> dict[str, QColor]:
    return {word: QColor(colour) for colour, word in SPAN.findall(html)}


def test_typed_text_shows_label_confidence_language_and_the_telling_words(page, qtbot):
    panel = page.text_panel
    assert panel.isVisible() and not page.drop_zone.isVisible()
    qtbot.keyClicks(panel.text_box, "The chef cooked soup")
    qtbot.keyClick(panel.text_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_rows(page, qtbot, 1)
    assert cell(page, 0, COLUMN_SOURCE) == "\u2068Text 1\u2069"
    assert cell(page, 0, COLUMN_TEXT) == "\u2068The chef cooked soup\u2069"
    assert cell(page, 0, COLUMN_LABEL) == "food"
    assert re.fullmatch(r"\d+\.\d%", cell(page, 0, COLUMN_CONFIDENCE))
    assert float(cell(page, 0, COLUMN_CONFIDENCE).rstrip("%")) > 50
    assert cell(page, 0, COLUMN_LANGUAGE) == "English"
    assert page.status.text() == "1 text classified."

    detail = panel.detail
    assert detail.labels[0].text().startswith("\u2068food\u2069 — ")
    assert detail.labels[1].isVisible() and not detail.labels[2].isVisible()
    assert detail.language.text() == "Language: English"
    assert detail.browser.isVisible() and not detail.words_status.isVisible()
    colours = tints(detail.explanation)
    assert set(colours) <= {"The", "chef", "cooked", "soup"}
    strongest = max(colours, key=lambda w: colours[w].green() - colours[w].red())
    assert strongest in {"chef", "cooked", "soup"}
    green = colours[strongest]
    assert green.green() > green.red() and green.green() > green.blue()
    assert "food" in detail.legend.text()
    assert panel.language_line.text() == "Trained on: English 100% · Your texts: English"


def test_a_table_column_is_classified_row_by_row_and_exported_safely(page, qtbot, tmp_path):
    table = tmp_path / "reviews.csv"
    pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "review": [
                "We baked bread and fish",
                "=cmd|' /C calc'!A0",
                "The team won the football match",
                "",
            ],
        }
    ).to_csv(table, index=False)
    panel = page.text_panel
    drop(panel, [table])
    dialog = panel.column_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.ready, timeout=JOB_TIMEOUT_MS)
    assert dialog.column == "review"  # guessed from the name
    assert dialog.model.rowCount() == 4
    dialog.ok_button.click()
    wait_rows(page, qtbot, 4)
    rows = {row.display_name: row for row in panel.model.rows}
    assert list(rows) == [f"reviews.csv, row {n}" for n in (2, 3, 4, 5)]
    assert rows["reviews.csv, row 2"].label == "food"
    assert rows["reviews.csv, row 4"].label == "sport"
    assert rows["reviews.csv, row 5"].error == "The text is empty."
    assert page.status.text() == "3 texts classified. 1 text could not be read."

    page.export_to(str(tmp_path / "out.csv"), "csv")
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["input"] for row in exported] == list(rows)
    assert exported[1]["text"] == "'=cmd|' /C calc'!A0"  # defused: no live formula
    assert exported[0]["label"] == "food" and float(exported[0]["score"]) > 0.5
    assert exported[3]["error"] == "The text is empty." and exported[3]["label"] == ""
    page.export_to(str(tmp_path / "out.json"), "json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data[1]["text"] == "=cmd|' /C calc'!A0" and data[0]["language"] == "en"
    assert page.status.text() == "Saved out.json."


def test_a_broken_text_file_is_an_error_row_while_the_others_are_classified(page, qtbot, tmp_path):
    good = tmp_path / "recipe.txt"
    good.write_text("Fry the eggs in butter.\nThen add the onions.", encoding="utf-8")
    arabic = tmp_path / "مباراة.txt"
    arabic.write_text("فاز الفريق بالمباراة النهائية", encoding="utf-8")
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02binary\x00\xff" * 50)
    drop(page.text_panel, [good, broken, arabic])
    wait_rows(page, qtbot, 3)
    rows = {row.name: row for row in page.text_panel.model.rows}
    assert rows[str(good)].label == "food"
    assert rows[str(good)].first_line == "Fry the eggs in butter."
    assert rows[str(arabic)].language == "ar" and rows[str(arabic)].error is None
    assert "binary" in rows[str(broken)].error
    assert page.status.text() == "2 texts classified. 1 text could not be read."
    page.text_panel.select_row(rows[str(broken)])
    detail = page.text_panel.detail
    assert "binary" in detail.message.text() and not detail.browser.isVisible()


def test_the_language_line_shows_the_model_working_across_languages(page, qtbot):
    panel = page.text_panel
    panel.per_line.setChecked(True)
    panel.text_box.setPlainText(
        "球队在决赛中赢得了比赛\n\nطبخنا الأرز مع الخضار\n我们做了巧克力蛋糕\n"
    )
    qtbot.mouseClick(panel.classify_button, Qt.MouseButton.LeftButton)
    wait_rows(page, qtbot, 3)
    assert [cell(page, r, COLUMN_LANGUAGE) for r in range(3)] == ["Chinese", "Arabic", "Chinese"]
    line = panel.language_line.text()
    assert line.startswith("Trained on: English 100% · Your texts: Chinese and Arabic")
    assert "Instant model" in line  # spellings do not carry across languages: said plainly
    panel.select_row(panel.model.rows[1])
    qtbot.waitUntil(lambda: panel.idle, timeout=JOB_TIMEOUT_MS)
    assert '<p dir="rtl" align="right">' in panel.detail.explanation

    panel.clear()
    assert panel.language_line.text() == "Trained on: English 100%"
    panel.text_box.clear()
    QGuiApplication.clipboard().setText("Вратарь отбил пенальти")
    page.paste()  # Ctrl+V anywhere on the page: the text lands in the box
    assert panel.text_box.toPlainText() == "Вратарь отбил пенальти"


def test_the_manifest_records_the_training_languages_and_old_packages_fall_back(
    topics_model, tmp_path
):
    package = load_package(topics_model)
    assert package.manifest["data"]["languages"] == {
        "en": package.manifest["data"]["train_examples"]
    }
    assert training_languages(topics_model).counts == package.manifest["data"]["languages"]
    old = tmp_path / "old model"
    shutil.copytree(topics_model, old)
    manifest = json.loads((old / "taxon-model.json").read_text(encoding="utf-8"))
    del manifest["data"]["languages"]
    manifest.pop("manifest_sha256", None)  # old packages have no manifest checksum either
    (old / "taxon-model.json").write_text(json.dumps(manifest), encoding="utf-8")
    fallback = training_languages(old)  # from the validation texts saved with the model
    assert fallback.kind == "text-instant"
    assert fallback.counts == {"en": manifest["data"]["validation_examples"]}


def test_an_arabic_ui_keeps_working_and_mirrors(page, qtbot, window):
    panel = page.text_panel
    panel.text_box.setPlainText("The chef cooked soup")
    panel.classify_typed()
    wait_rows(page, qtbot, 1)
    action = next(a for a in window.language_menu_actions() if a.data() == "ar")
    action.trigger()
    qtbot.waitUntil(lambda: page.cancel_button.text() == "إلغاء")
    assert i18n.current_language() == "ar"
    assert window.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert panel.model.headerData(COLUMN_LABEL, Qt.Orientation.Horizontal) == "التسمية"
    assert cell(page, 0, COLUMN_LANGUAGE) == "الإنجليزية"
    confidence = cell(page, 0, COLUMN_CONFIDENCE)
    assert "٪" in confidence and "%" not in confidence  # Arabic's percent sign, as in Qt
    assert re.search("[٠-٩]", confidence)  # Arabic-Indic digits

    panel.text_box.setPlainText("طبخنا الأرز مع الخضار")
    panel.classify_typed()
    wait_rows(page, qtbot, 2)
    assert cell(page, 1, COLUMN_LANGUAGE) == "العربية"
    assert cell(page, 1, COLUMN_TEXT) == "\u2068طبخنا الأرز مع الخضار\u2069"
    panel.select_row(panel.model.rows[1])
    qtbot.waitUntil(lambda: panel.idle, timeout=JOB_TIMEOUT_MS)
    assert '<p dir="rtl" align="right">' in panel.detail.explanation
    panel.select_row(panel.model.rows[0])
    qtbot.waitUntil(lambda: panel.idle, timeout=JOB_TIMEOUT_MS)
    assert '<p dir="ltr" align="left">' in panel.detail.explanation  # English stays LTR
    assert tints(panel.detail.explanation)


def test_switching_back_to_the_built_in_model_shows_the_image_drop_zone(page, qtbot):
    assert not page.drop_zone.isVisible()
    page.use_model("builtin")
    qtbot.waitUntil(lambda: page.model_ready, timeout=240_000)
    assert page.drop_zone.isVisible() and not page.text_panel.isVisible()
    assert page.status.text() == "Drop images to classify them with the selected model."


def test_cancel_stops_a_long_batch_and_the_next_one_runs(page, qtbot):
    panel = page.text_panel
    panel.per_line.setChecked(True)
    panel.text_box.setPlainText("\n".join(f"Line {n}: we baked bread" for n in range(20_000)))
    panel.classify_typed()
    assert page.cancel_button.isVisible() and panel.busy
    page.use_model("builtin")  # refused while texts are being classified
    assert page.text_mode and "Wait until the current work ends" in page.status.text()
    page.cancel_button.click()
    qtbot.waitUntil(lambda: panel.idle, timeout=JOB_TIMEOUT_MS)
    assert page.status.text() == "Cancelled." and panel.model.rowCount() == 0
    panel.text_box.setPlainText("The team won the football match")
    panel.per_line.setChecked(False)
    panel.classify_typed()
    wait_rows(page, qtbot, 1)
    assert panel.model.rows[0].label == "sport"
