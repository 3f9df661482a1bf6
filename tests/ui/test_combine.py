"""Combining models on the Evaluate page: compatible models listed, weights and scores
shown, the combination saved into the library and opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.helpers import deploy_models as dm
from tests.helpers.texts import noisy_topics
from ui.pages.evaluate.combine import ACCURACY, NAME, WEIGHT, CombineDialog


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("combine-ui")
    data = noisy_topics(base / "data")
    return {
        "a": dm.train_package(data, base / "Words A", mode="instant", seed=3),
        "b": dm.train_package(data, base / "Words B", mode="instant", seed=3, epochs=1),
        "two": dm.train_package(
            dm.topics_dataset(base / "two"), base / "two-topics", mode="instant"
        ),
    }


def _library(models):
    from engine.models.library import ModelLibrary

    library = ModelLibrary()
    for key in ("a", "b", "two"):
        library.add(models[key])
    return library


def test_the_dialog_lists_compatible_models_and_shows_weights(qtbot, models):
    from engine.models.package import load_package

    library = _library(models)
    package = load_package(models["a"])
    dialog = CombineDialog(str(models["a"]), package.task, package.labels, library=library)
    qtbot.addWidget(dialog)
    names = [dialog.table.item(row, NAME).text() for row in range(dialog.table.rowCount())]
    assert sorted(names) == ["Words A", "Words B"]  # the two-topic model is not offered
    assert names[0] == "Words A"  # the model shown on the page comes first
    qtbot.waitUntil(lambda: dialog.result_ is not None, timeout=30_000)
    weights = [dialog.table.item(row, WEIGHT).text() for row in range(2)]
    assert all(text.endswith("%") for text in weights)
    assert all(dialog.table.item(row, ACCURACY).text().endswith("%") for row in range(2))
    assert "Validation accuracy of the combination" in dialog.summary.text()
    assert dialog.save_button.isEnabled()

    dialog.table.item(1, NAME).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.save_button.isEnabled() and "at least two" in dialog.summary.text()
    dialog.reject()


def test_combining_from_the_evaluate_page_saves_registers_and_opens_it(window, qtbot, models):
    library = _library(models)
    page = window.page("evaluatePage")
    window.show_page(page)
    page.open_model(models["a"])
    qtbot.waitUntil(lambda: page.model is not None and page.job is None, timeout=30_000)
    assert page.model_buttons.combine_button.isEnabled()
    dialog = page.model_buttons.combine()
    qtbot.waitUntil(lambda: dialog.result_ is not None, timeout=30_000)
    dialog.name.setText("Both word models")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.saved is not None, timeout=60_000)
    entry = library.get(dialog.saved)
    assert entry is not None and entry.kind == "ensemble" and entry.name == "Both word models"
    qtbot.waitUntil(
        lambda: page.model is not None and page.model.name == "Both word models", timeout=30_000
    )
    assert page.evaluation is not None and len(page.evaluation) > 0
