"""The Evaluate page and "close the loop", driven as a user would, in English and in Arabic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from engine.core import i18n
from engine.data.datasets import Dataset
from engine.data.project import Project
from engine.models.contract import ItemResult, Prediction
from engine.models.evaluation import Evaluation, evaluate_classifier
from tests.helpers.images import RedBlueClassifier, evaluated_package, red_and_blue, tinted
from tests.helpers.qt import settle, switch
from ui.pages.evaluate import models
from ui.widgets import correction

JOB_TIMEOUT_MS = 60_000


@pytest.fixture
def colours(tmp_path) -> Dataset:
    """Four red and four blue photos; the first red one is labelled blue by mistake."""
    return red_and_blue(tmp_path / "colours")


@pytest.fixture
def packages(tmp_path, colours) -> tuple[Path, Path]:
    """Two packages evaluated on the same rows: a good model and one that says red to all."""
    good = evaluate_classifier(RedBlueClassifier(), colours)
    always_red = Evaluation(
        good.labels,
        good.items,
        good.y_true,
        np.tile(np.array([0.7, 0.2, 0.1], np.float32), (len(good), 1)),
        row_ids=good.row_ids,
    )
    return (
        evaluated_package(tmp_path / "good model", "Colours v1", good),
        evaluated_package(tmp_path / "red model", "Always red", always_red),
    )


@pytest.fixture
def page(window, qtbot, tmp_path, packages, colours):
    settle(window, qtbot)
    project = Project.create(tmp_path / "project", "Colours")
    for path, name in zip(packages, ("Colours v1", "Always red"), strict=True):
        project.add_model(name, path)
    window.session.set_project(project)
    window.session.set_dataset(colours)
    page = window.page("evaluatePage")  # shows the project's first model by itself
    window.show_page(page)
    qtbot.waitUntil(
        lambda: page.job is None and page.evaluation is not None, timeout=JOB_TIMEOUT_MS
    )
    yield page
    qtbot.waitUntil(
        lambda: not page.mistakes.loading and not page.cell_examples.loading, timeout=JOB_TIMEOUT_MS
    )


def click_cell(qtbot, page, true_index: int, pred_index: int) -> None:
    page.tabs.setCurrentIndex(1)
    QApplication.processEvents()
    centre = page.matrix.cell_rect(true_index, pred_index).center().toPoint()
    qtbot.mouseClick(page.matrix, Qt.MouseButton.LeftButton, pos=centre)


def test_page_shows_the_saved_evaluation_of_a_package(page, window):
    assert window.nav.item(window.pages.indexOf(page)).text() == "Evaluate"
    assert page.model_combo.currentText() == "Colours v1"
    assert [page.model_combo.itemText(i) for i in (0, 1)] == ["Colours v1", "Always red"]
    assert page.model_combo.itemText(page.model_combo.count() - 1) == "Open model…"
    assert (
        "validation split" in page.source_label.text() and "8 examples" in page.source_label.text()
    )
    assert page.cards.text("accuracy") == "87.5%"
    assert page.cards.text("count") == "8"
    f1 = page.evaluation.macro_f1
    assert page.cards.text("macro_f1") == i18n.format_percent(f1, 1)
    assert page.cards.text("ece") == i18n.format_percent(
        page.evaluation.expected_calibration_error(), 1
    )
    table = page.per_class_proxy
    rows = {
        table.index(r, 0).data(): [table.index(r, c).data() for c in range(1, 5)]
        for r in range(table.rowCount())
    }
    assert rows["red"] == ["75.0%", "100.0%", "85.7%", "3"]  # 3 of 4 "red" verdicts right
    assert rows["blue"] == ["100.0%", "80.0%", "88.9%", "5"]
    assert rows["green"][-1] == "0"
    assert table.index(0, 0).data() == "green"  # sorted by F1, weakest first
    assert page.mistakes.list.count() == 1
    assert page.mistakes.heading.text() == "1 mistake, most confident first"
    caption = page.mistakes.list.item(0).text()
    assert "red-0.jpg" in caption and "True: blue" in caption and "Predicted: red" in caption
    assert "Expected calibration error" in page.calibration.text.text()


def test_a_click_on_a_confusion_cell_lists_its_examples_with_thumbnails(page, qtbot):
    click_cell(qtbot, page, 1, 0)  # true blue, predicted red
    assert page.matrix.selected == (1, 0)
    assert page.cell_examples.heading.text() == "1 example of blue predicted as red"
    assert page.cell_examples.list.count() == 1
    assert "red-0.jpg" in page.cell_examples.list.item(0).toolTip()
    qtbot.waitUntil(lambda: not page.cell_examples.loading, timeout=JOB_TIMEOUT_MS)
    icon = page.cell_examples.list.item(0).icon().pixmap(96, 96).toImage()
    centre = icon.pixelColor(icon.width() // 2, icon.height() // 2)
    assert centre.red() > 150 and centre.blue() < 120  # the red photo, not the grey placeholder
    click_cell(qtbot, page, 0, 0)
    assert page.cell_examples.list.count() == 3
    assert page.cell_examples.heading.text() == "3 examples of red predicted as red"
    assert (
        page.matrix.cell_tooltip(0, 0) == "True: red · predicted: red · 3 examples (100.0% of red)"
    )


def test_correcting_a_label_changes_the_dataset_through_the_plan(page, qtbot, monkeypatch, window):
    session = window.session
    asked = []
    monkeypatch.setattr(
        correction,
        "ask_label",
        lambda parent, prompt, labels, current: asked.append((prompt, labels, current)) or "red",
    )
    page.tabs.setCurrentIndex(2)
    page.mistakes.list.setCurrentRow(0)
    page.mistakes.correct_button.click()
    prompt, labels, current = asked[0]
    assert "red-0.jpg" in prompt and labels == ["blue", "green", "red"] and current == "blue"
    assert session.current.frame.loc[0, "label"] == "red"
    assert session.original.frame.loc[0, "label"] == "blue"  # the user's data is untouched
    (step,) = session.plan.steps
    assert step.fix.kind == "relabel" and step.fix.params == {"labels": {"0": "red"}}
    assert session.project.dataset(session.dataset_id).plan is not None  # saved with the project
    assert "Corrected to red" in page.mistakes.list.item(0).text()
    assert (
        page.status.text() == "Label of \u2068red-0.jpg\u2069 corrected to red. "
        "Train the model again to use it."
    )
    session.undo()  # what "Undo last fix" on the Health page does
    assert session.current.frame.loc[0, "label"] == "blue"


def test_correcting_an_example_from_another_dataset_adds_it(page, tmp_path, window):
    other = tmp_path / "elsewhere.jpg"
    Image.fromarray(tinted(99, (230, 20, 20))).save(other)
    evaluation = Evaluation(
        ["red", "blue", "green"], [str(other)], np.array([1]), np.array([[0.9, 0.05, 0.05]])
    )
    page.show_evaluation(evaluation, "validation")
    assert page.apply_correction(0, "red")
    frame = window.session.current.frame
    assert (
        len(frame) == 9
        and frame.iloc[-1]["item"] == str(other)
        and frame.iloc[-1]["label"] == "red"
    )


def test_evaluate_on_the_current_dataset_and_compare_two_models(page, qtbot, monkeypatch, window):
    monkeypatch.setattr(
        models, "load_model_classifier", lambda path, progress, cancel: RedBlueClassifier()
    )
    window.session.add_fix(correction_fix())  # one image labelled right this time
    page.evaluate_button.click()
    qtbot.waitUntil(lambda: page.job is None and page.source == "dataset", timeout=JOB_TIMEOUT_MS)
    assert "current dataset: 8 examples" in page.source_label.text()
    assert page.cards.text("accuracy") == "100.0%"
    assert page.mistakes.heading.text() == "No mistakes: every example got its true label."
    page.tabs.setCurrentIndex(4)
    key = page.compare.combo.itemData(1)
    assert page.compare.combo.itemText(1) == "Always red"
    page.compare.combo.setCurrentIndex(1)
    page.compare.combo.activated.emit(1)
    qtbot.waitUntil(
        lambda: page.job is None and page.compare.result is not None, timeout=JOB_TIMEOUT_MS
    )
    assert page.compare_key == key
    result = page.compare.result
    assert result["same_items"] and result["common"] == 8
    assert page.compare.table.item(0, 0).text() == "100.0%"
    assert page.compare.table.item(0, 1).text() == "100.0%"  # the stand-in classifier again
    page.compare_with("")
    # on the saved validation splits the two models differ: the red-to-all model gets 3 of 8
    page.open_model(page.model.path)
    page.compare_with(key)
    qtbot.waitUntil(
        lambda: page.job is None and page.compare.result is not None, timeout=JOB_TIMEOUT_MS
    )
    assert page.compare.table.item(0, 1).text() == "37.5%"
    assert page.compare.table.item(0, 2).text() == "\u221250.0%"
    text = page.compare.agreement.text()
    assert "On the 8 examples both models were evaluated on" in text
    assert "both right: 3" in text and "both wrong: 1" in text
    assert "only Colours v1 right: 4" in text and "only Always red right: 0" in text


def test_open_model_from_a_folder_outside_the_project(page, qtbot, monkeypatch, tmp_path, colours):
    from PySide6.QtWidgets import QFileDialog

    evaluation = Evaluation(
        ["red", "blue", "green"],
        colours.frame["item"].tolist()[:2],
        np.array([1, 1]),
        np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]]),
    )
    outside = evaluated_package(tmp_path / "downloads" / "shared model", "Shared", evaluation)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(outside))
    combo = page.model_combo
    combo.setCurrentIndex(combo.count() - 1)
    assert combo.currentText() == "Open model…"
    combo.activated.emit(combo.count() - 1)
    qtbot.waitUntil(
        lambda: page.job is None and page.model.name == "Shared", timeout=JOB_TIMEOUT_MS
    )
    assert combo.currentText() == "Shared"
    assert page.cards.text("accuracy") == "50.0%" and page.cards.text("count") == "2"
    assert [combo.itemText(i) for i in range(3)] == ["Colours v1", "Always red", "Shared"]


def correction_fix():
    from engine.cleaning.findings import Fix, Message

    return Fix("relabel", {"labels": {"0": "red"}}, Message("fixed by the test"))


def test_evaluate_without_data_says_so(page, window):
    window.session.set_dataset(None)
    page.evaluate_current()
    assert page.status.text() == "Import data on the Data page first."
    assert page.job is None


def test_add_to_dataset_from_classify_results(window, qtbot, colours, tmp_path, monkeypatch):
    settle(window, qtbot)
    classify = window.page("classifyPage")
    button = classify.add_to_dataset
    photo = tmp_path / "new bird.jpg"
    Image.fromarray(tinted(3, (20, 200, 20))).save(photo)
    classify.model.add_results([ItemResult(str(photo), [Prediction("goldfinch", 0.8)])])
    classify.table.selectRow(0)
    assert button.isEnabled() and button.text() == "Add to dataset…"
    button.click()  # no dataset open: said plainly, nothing breaks
    assert classify.status.text().startswith("No dataset is open.")
    window.session.set_dataset(colours)
    monkeypatch.setattr(correction, "ask_label", lambda parent, prompt, labels, current: "green")
    button.click()
    frame = window.session.current.frame
    assert len(frame) == 9 and frame.iloc[-1]["item"] == str(photo)
    assert frame.iloc[-1]["label"] == "green" and frame.iloc[-1]["row_id"] >= 1_000_000_000
    assert window.session.plan.steps[-1].fix.kind == "add_rows"
    assert classify.status.text() == "\u2068new bird.jpg\u2069 added to the dataset as green."
    # an image already in the dataset is relabelled, not added twice
    assert button.add(colours.frame.loc[0, "item"], "red")
    assert len(window.session.current.frame) == 9
    assert window.session.current.frame.loc[0, "label"] == "red"


def test_arabic_switch_mirrors_the_matrix_and_localises_numbers(page, qtbot, window):
    click_cell(qtbot, page, 1, 0)
    switch(window, qtbot, "ar")
    try:
        assert page.layoutDirection() == Qt.LayoutDirection.RightToLeft
        assert page.cards.text("accuracy") == i18n.format_percent(0.875, 1)
        assert "٨٧" in page.cards.text("accuracy")  # Arabic-Indic digits
        assert page.cards.text("count") == "٨"
        first, last = page.matrix.cell_rect(0, 0), page.matrix.cell_rect(0, 2)
        assert first.x() > last.x()  # the first class's column is rightmost
        assert page.matrix.cell_at(page.matrix.cell_rect(1, 0).center()) == (1, 0)
        click_cell(qtbot, page, 0, 1)
        assert page.matrix.selected == (0, 1)
        assert page.cell_examples.list.count() == 0
        for row in range(page.per_class_proxy.rowCount()):
            assert not any(
                ch.isascii() and ch.isdigit() for ch in page.per_class_proxy.index(row, 4).data()
            )
        grab = page.grab()
        assert not grab.isNull()
        assert page.tabs.tabBar().tabRect(0).x() > page.tabs.tabBar().tabRect(4).x()
    finally:
        switch(window, qtbot, "en")
    assert page.cards.text("accuracy") == "87.5%"
    assert page.mistakes.heading.text() == "1 mistake, most confident first"


def test_keyboard_moves_through_the_matrix(page, qtbot):
    page.tabs.setCurrentIndex(1)
    page.matrix.setFocus()
    page.matrix.select(0, 0)
    qtbot.keyClick(page.matrix, Qt.Key.Key_Down)
    assert page.matrix.selected == (1, 0)
    assert page.cell_examples.list.count() == 1
    qtbot.keyClick(page.matrix, Qt.Key.Key_Right)
    assert page.matrix.selected == (1, 1)
    assert page.matrix.cell_at(QPoint(0, 0)) is None
