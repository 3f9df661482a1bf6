"""The Train page as a user drives it: train on digits, watch charts, pause, cancel and
continue, then use the model on the Classify and Evaluate pages; in English and Arabic."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine.core import i18n
from engine.data.dataset_io import load_dataset
from engine.data.project import Project
from tests.helpers.digits import write_digits
from tests.helpers.qt import settle, switch

TRAIN_TIMEOUT_MS = 180_000


@pytest.fixture
def page(window, qtbot, tmp_path):
    settle(window, qtbot)
    window.session.set_project(Project.create(tmp_path / "project", "Digits"))
    window.session.set_dataset(
        load_dataset(str(write_digits(tmp_path / "digits", per_class=20, classes=(0, 1, 2))))
    )
    page = window.page("trainPage")
    window.show_page(page)
    page.form.epochs_spin.setValue(15)
    page.form.device_combo.setCurrentIndex(page.form.device_combo.findData("cpu"))
    yield page
    page.cancel()
    qtbot.waitUntil(lambda: page.worker is None, timeout=TRAIN_TIMEOUT_MS)


@pytest.mark.slow
def test_training_fills_the_charts_and_adds_the_model_everywhere(page, window, qtbot):
    assert "60 images in 3 classes" in page.dataset_label.text()
    page.form.name_edit.setText("Digits fast")
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    assert not page.train_button.isEnabled() and page.pause_button.isEnabled()
    qtbot.waitUntil(
        lambda: page.worker is None and page.last_result is not None, timeout=TRAIN_TIMEOUT_MS
    )
    assert len(page.charts.epochs) == len(page.last_result.history) >= 2
    assert page.charts.steps
    assert "Saved “Digits fast”" in page.result_label.text()
    assert "CPU" in page.status.text()
    project = window.session.project
    assert [m.name for m in project.models] == ["Digits fast"]
    assert project.models[0].path.parent == project.folder / "models"

    qtbot.mouseClick(page.classify_button, Qt.MouseButton.LeftButton)
    classify = window.page("classifyPage")
    qtbot.waitUntil(
        lambda: classify.model_ready and classify.classifier.labels == ["0", "1", "2"],
        timeout=TRAIN_TIMEOUT_MS,
    )
    assert "Digits fast" in classify.model_combo.currentText()

    qtbot.mouseClick(page.evaluate_button, Qt.MouseButton.LeftButton)
    evaluate = window.page("evaluatePage")
    qtbot.waitUntil(
        lambda: (
            evaluate.job is None
            and evaluate.model is not None
            and evaluate.model.name == "Digits fast"
        ),
        timeout=TRAIN_TIMEOUT_MS,
    )
    assert evaluate.evaluation.labels == ["0", "1", "2"]


@pytest.mark.slow
def test_pause_then_cancel_then_train_again_continues_from_the_checkpoint(page, qtbot, monkeypatch):
    monkeypatch.setenv("TAXON_FAULTS", "slow@0.02")
    page.form.epochs_spin.setValue(40)
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.charts.epochs) >= 3, timeout=TRAIN_TIMEOUT_MS)
    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    assert page.pause_button.text() == "Resume" and "Paused" in page.status.text()
    qtbot.wait(400)
    epochs_while_paused = len(page.charts.epochs)
    qtbot.wait(600)
    assert len(page.charts.epochs) == epochs_while_paused
    qtbot.mouseClick(page.job_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.worker is None, timeout=5_000)  # within seconds, even paused
    assert "continue from the last completed epoch" in page.job_bar.status.text()

    monkeypatch.delenv("TAXON_FAULTS")
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: page.worker is None and page.last_result is not None, timeout=TRAIN_TIMEOUT_MS
    )
    assert page.last_result.resumed_from_epoch >= 3
    assert any("Resumed" in page.notes.item(i).text() for i in range(page.notes.count()))


def test_fine_tune_options_show_only_for_fine_tuning_and_preview_augmentations(page, qtbot):
    assert not page.form.finetune.isVisibleTo(page)
    page.form.mode_combo.setCurrentIndex(page.form.mode_combo.findData("finetune"))
    assert page.form.finetune.isVisibleTo(page)
    page.form.flip_check.setChecked(False)
    assert page.form.config().augment_flip is False and page.form.config().mode == "finetune"
    page.show_preview()
    dialog = page.preview
    assert dialog.isVisible()
    qtbot.waitUntil(
        lambda: all(not tile.pixmap().isNull() for tile in dialog.tiles), timeout=60_000
    )
    dialog.close()


@pytest.mark.slow
def test_arabic_mirrors_the_page_and_localises_the_status(page, window, qtbot):
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: page.worker is None and page.last_result is not None, timeout=TRAIN_TIMEOUT_MS
    )
    switch(window, qtbot, "ar")
    assert QApplication.instance().layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert page.train_button.text() == i18n._("Train") != "Train"
    assert any("\u0660" <= ch <= "\u0669" for ch in page.result_label.text())  # Arabic-Indic digits
    switch(window, qtbot, "en")


def test_a_text_dataset_offers_the_text_modes_and_trains_instantly(window, qtbot, tmp_path):
    import pandas as pd

    from tests.helpers.texts import FOOD, SPORT

    settle(window, qtbot)
    table = tmp_path / "topics.csv"
    pd.DataFrame(
        [(t, "sport") for t in SPORT] + [(t, "food") for t in FOOD], columns=["text", "label"]
    ).to_csv(table, index=False)
    window.session.set_dataset(load_dataset(str(table)))
    page = window.page("trainPage")
    window.show_page(page)
    modes = [page.form.mode_combo.itemData(i) for i in range(page.form.mode_combo.count())]
    assert modes == ["instant", "fast", "finetune"]
    assert "24 texts in 2 classes" in page.dataset_label.text()
    page.form.mode_combo.setCurrentIndex(0)
    page.form.mode_combo.setCurrentIndex(modes.index("finetune"))
    assert page.form.weighting_check.isVisibleTo(page) and not page.form.flip_check.isVisibleTo(
        page
    )
    page.form.mode_combo.setCurrentIndex(0)
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: page.worker is None and page.last_result is not None, timeout=TRAIN_TIMEOUT_MS
    )
    assert page.charts.epochs and "Saved" in page.result_label.text()
