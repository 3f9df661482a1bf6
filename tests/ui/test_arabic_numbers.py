"""Arabic shows every number in Arabic-Indic digits and every percentage with "٪": no Latin
digit and no ASCII "%" beside them on the Train page (hints, spin boxes, default model name)
or the Evaluate page (cards, tables, captions, tooltips, the comparison), after a live switch.
"""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QListWidget,
    QTabBar,
    QTableView,
    QWidget,
)

from engine.core import i18n
from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.data.project import Project
from engine.models import library as model_library
from engine.models.evaluation import Evaluation, evaluate_classifier
from engine.models.library import register
from engine.models.package import save_package
from tests.helpers.images import RedBlueClassifier, evaluated_package, red_and_blue
from tests.helpers.qt import switch
from ui.app import build_window, create_application
from ui.locale_numbers import show_as_percent
from ui.pages import PAGE_FACTORIES
from ui.settings import app_settings

JOB_TIMEOUT_MS = 60_000
PAGES = ("trainPage", "evaluatePage")
#: An ASCII "%", or Latin digits standing as a number: not those inside a Latin name
#: ("multilingual-e5-small", "F1"), which Arabic text writes as they are.
LATIN = re.compile(r"%|(?<![A-Za-z0-9])[0-9]+(?![0-9A-Za-z])")


@pytest.fixture(autouse=True)
def private_library(monkeypatch):
    """A library of this test's own: default names must not collide with the suite's models."""
    monkeypatch.setattr(model_library, "INDEX_NAME", f"models-test-{uuid.uuid4().hex}.json")


@pytest.fixture
def window(qtbot):
    """The window with only the Train and Evaluate pages: no built-in model to wait for."""
    create_application(["taxon-tests"])
    app_settings().clear()
    win = build_window(
        "en",
        pages=[spec for page_id in PAGES for spec in PAGE_FACTORIES if spec.page_id == page_id],
    )
    qtbot.addWidget(win)
    win.resize(1024, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    switch(win, qtbot, "en")
    win.close()
    from ui.worker import running_workers

    for worker in running_workers():
        worker.wait(60_000)
    QApplication.instance().setLayoutDirection(Qt.LayoutDirection.LeftToRight)


def shown_texts(root: QWidget, hide: tuple[str, ...] = ()) -> list[str]:
    """Every text a user can read on ``root`` (hidden tabs too): labels, buttons, spin boxes,
    combo and tab entries, list and table cells, tooltips; HTML tags and ``hide`` left out."""
    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        texts.append(widget.toolTip())
        if isinstance(widget, (QLabel, QAbstractButton, QAbstractSpinBox)):
            texts.append(widget.text())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QTabBar):
            texts += [widget.tabText(i) for i in range(widget.count())]
        if isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model, top = widget.model(), QModelIndex()
            rows = model.rowCount(top)
            columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(top)
            for row in range(rows):
                for column in range(columns):
                    index = model.index(row, column)
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        value = index.data(role)
                        texts.append(value if isinstance(value, str) else "")
            if isinstance(widget, QTableView) and not widget.horizontalHeader().isHidden():
                texts += [
                    str(model.headerData(c, Qt.Orientation.Horizontal)) for c in range(columns)
                ]
    cleaned = []
    for text in texts:
        text = re.sub(r"<[^>]+>", "", text or "")
        for part in hide:
            text = text.replace(part, "")
        cleaned.append(text)
    return [text for text in cleaned if text.strip()]


def latin(texts: list[str]) -> list[str]:
    return [text for text in texts if LATIN.search(text)]


def test_train_page_hints_spin_boxes_and_default_name_in_arabic(
    window, qtbot, monkeypatch, tmp_path
):
    from datetime import datetime

    import ui.pages.train.page as train_module

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 6, 14, 3, 12)

    monkeypatch.setattr(train_module, "datetime", Frozen)
    texts = [f"نص {word}" for word in ("أول", "ثان", "ثالث", "رابع")] * 3
    window.session.set_dataset(
        Dataset(
            "text",
            make_frame(texts, ["رياضة", "طعام"] * 6),
            DatasetSource("table", str(tmp_path / "texts.csv")),
            name="أخبار",
        )
    )
    page = window.page("trainPage")
    window.show_page(page)
    form = page.form
    form.epochs_spin.setValue(15)
    form.batch_spin.setValue(1024)
    form.rate_spin.setValue(0.0005)
    form.seed_spin.setValue(42)
    switch(window, qtbot, "ar")

    hints = []
    for index in range(form.mode_combo.count()):  # instant ("even for 100,000 rows"), fast…
        form.mode_combo.setCurrentIndex(index)
        hints.append(form.mode_hint.text())
    assert "١٠٠٬٠٠٠" in hints[0]
    assert form.epochs_spin.text() == "١٥" and form.seed_spin.text() == "٤٢"
    assert form.rate_spin.text() == "٠٫٠٠٠٥٠"
    assert "١٢" in page.dataset_label.text()
    assert latin(shown_texts(page) + hints) == []

    name = page.default_name()
    assert name == "أخبار ٢٠٢٦-١٢-٠٦ ١٤.٠٣"
    package = save_package(
        tmp_path / "first",
        manifest={"name": name, "task": "text", "kind": "fast", "labels": ["رياضة", "طعام"]},
        tensors={"head.weight": np.zeros((2, 4), dtype=np.float32)},
    )
    register(package, origin="trained")
    assert page.default_name() == "أخبار ٢٠٢٦-١٢-٠٦ ١٤.٠٣ (٢)"
    switch(window, qtbot, "en")  # the same minute in Latin digits is still the same name
    assert page.default_name() == "أخبار 2026-12-06 14.03 (2)"


def test_evaluate_page_with_a_model_in_arabic(window, qtbot, tmp_path):
    colours = red_and_blue(tmp_path / "colours", suffixes="abcd")  # no digits in the names
    good = evaluate_classifier(RedBlueClassifier(), colours)
    always_red = Evaluation(
        good.labels,
        good.items,
        good.y_true,
        np.tile(np.array([0.7, 0.2, 0.1], np.float32), (len(good), 1)),
        row_ids=good.row_ids,
    )
    project = Project.create(tmp_path / "project", "Colours")
    for name, evaluation in (("Colours", good), ("Always red", always_red)):
        project.add_model(name, evaluated_package(tmp_path / name, name, evaluation))
    window.session.set_project(project)
    page = window.page("evaluatePage")
    window.show_page(page)
    qtbot.waitUntil(
        lambda: page.job is None and page.evaluation is not None, timeout=JOB_TIMEOUT_MS
    )
    page.compare_with(str((tmp_path / "Always red").resolve()))
    qtbot.waitUntil(lambda: page.compare.result is not None, timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not page.mistakes.loading, timeout=JOB_TIMEOUT_MS)
    assert page.cards.text("accuracy") == "87.5%"

    switch(window, qtbot, "ar")
    assert page.cards.text("accuracy") == "٨٧٫٥٪\u061c"
    assert page.compare.table.item(0, 2).text() == "\u2212٥٠٫٠٪\u061c"
    hide = (str(tmp_path), str(tmp_path.resolve()))  # package paths in tooltips
    assert latin(shown_texts(page, hide)) == []


def test_a_percent_spin_box_follows_a_live_switch(window, qtbot):
    spin = QDoubleSpinBox(window)  # as the Classify page's "Unsure below" threshold
    spin.setRange(0, 100)
    spin.setDecimals(0)
    spin.setValue(25)
    show_as_percent(spin)
    assert spin.text() == "25%" and i18n.percent_affixes()[1] == "%"
    switch(window, qtbot, "ar")
    assert spin.text() == "٢٥٪\u061c" and i18n.percent_affixes()[1] == "٪\u061c"
    assert spin.text().endswith(i18n.format_percent(0.25)[-2:])
    switch(window, qtbot, "en")
    assert spin.text() == "25%"
