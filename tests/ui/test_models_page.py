"""The Models page and the model library in the window, as a user drives them: models listed
with their details, renamed, removed, used elsewhere, and still there after a restart."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine.core import i18n
from engine.models import library as model_library
from engine.models.evaluation import Evaluation
from engine.models.library import ModelLibrary, register
from engine.models.package import load_package, save_package, write_archive
from ui.app import build_window, create_application
from ui.pages import PAGE_FACTORIES
from ui.pages.models import actions
from ui.pages.models.table import ACCURACY, CLASSES, LOCATION, NAME, SIZE, TASK
from ui.settings import app_settings

JOB_TIMEOUT_MS = 60_000
PAGES = ("modelsPage", "classifyPage", "evaluatePage", "trainPage")


def make_package(
    folder: Path, name: str, labels=("oak", "maple", "ash"), accuracy: float = 0.875
) -> Path:
    probs = np.full((2, len(labels)), 0.1)
    probs[0, 0] = probs[1, 1] = 0.8
    evaluation = Evaluation(list(labels), ["a.jpg", "b.jpg"], np.array([0, 1]), probs)
    return save_package(
        folder,
        manifest={
            "name": name,
            "task": "image",
            "kind": "fast",
            "labels": list(labels),
            "metrics": {"accuracy": accuracy},
        },
        tensors={"head.weight": np.zeros((len(labels), 4), dtype=np.float32)},
        evaluation=evaluation.to_json(),
    )


@pytest.fixture(autouse=True)
def private_library(monkeypatch):
    """A library of this test's own: the suite's other models must not show up here."""
    monkeypatch.setattr(model_library, "INDEX_NAME", f"models-test-{uuid.uuid4().hex}.json")


@pytest.fixture
def open_window(qtbot):
    """Opens a window with the Models page first; each call is a "restart"."""
    windows = []

    def open_one(language: str = "en"):
        create_application(["taxon-tests"])
        app_settings().clear()
        win = build_window(
            language,
            pages=[spec for page_id in PAGES for spec in PAGE_FACTORIES if spec.page_id == page_id],
        )
        qtbot.addWidget(win)
        win.resize(1024, 640)
        win.show()
        qtbot.waitExposed(win)
        windows.append(win)
        return win

    yield open_one
    for win in windows:
        win.close()
    from ui.worker import running_workers

    for worker in running_workers():
        worker.wait(60_000)
    QApplication.instance().setLayoutDirection(Qt.LayoutDirection.LeftToRight)


@pytest.fixture
def models(tmp_path) -> dict[str, Path]:
    """A model Taxon trained, a shared .taxon-model file, and one whose folder is gone."""
    trained = make_package(tmp_path / "models" / "leaves", "Leaves")
    register(trained, origin="trained")
    (tmp_path / "downloads").mkdir()
    archive = write_archive(
        make_package(tmp_path / "src", "Shared birds", ("owl", "crow")),
        tmp_path / "downloads" / "birds",
    )
    register(load_package(archive))
    gone = make_package(tmp_path / "usb" / "old", "Old model")
    register(gone, origin="trained")
    import shutil

    shutil.rmtree(tmp_path / "usb")
    return {"trained": trained, "archive": archive, "gone": gone}


def plain(text: str) -> str:
    """Without the Unicode isolates that keep names and paths whole in right-to-left text."""
    return text.replace("\u2068", "").replace("\u2069", "")


def rows(page) -> dict[str, list[str]]:
    proxy = page.proxy
    return {
        plain(proxy.index(r, NAME).data()): [
            proxy.index(r, c).data() for c in range(proxy.columnCount())
        ]
        for r in range(proxy.rowCount())
    }


def chooser_texts(combo) -> list[str]:
    return [plain(combo.itemText(i)) for i in range(combo.count())]


def select(page, name: str) -> None:
    path = next(entry.path for entry in page.table.entries if entry.name == name)
    assert page.select(path)


def test_models_page_lists_every_model_with_its_details(open_window, models):
    window = open_window()
    page = window.page("modelsPage")
    assert window.pages.currentWidget() is page
    assert window.nav.item(0).text() == "Models"
    table = rows(page)
    assert set(table) == {"Leaves", "Shared birds", "Old model"}
    leaves = table["Leaves"]
    assert leaves[TASK] == "Images" and leaves[CLASSES] == "3" and leaves[ACCURACY] == "87.5%"
    assert leaves[SIZE].endswith(("B", "KB")) and str(models["trained"]) in leaves[LOCATION]
    assert leaves[LOCATION].startswith("\u2068")  # a path inside RTL text stays in one piece
    assert table["Shared birds"][CLASSES] == "2"
    assert str(models["archive"]) in table["Shared birds"][LOCATION]
    assert table["Old model"][LOCATION].startswith("Missing: ")
    assert table["Old model"][SIZE] == "—"
    assert "3 models" in page.intro.text() and "1 is missing" in page.intro.text()

    select(page, "Old model")  # a missing model can only be removed
    assert page.remove_button.isEnabled() and page.rename_button.isEnabled()
    assert not page.classify_button.isEnabled() and not page.export_button.isEnabled()
    select(page, "Leaves")
    assert page.classify_button.isEnabled() and page.folder_button.isEnabled()


def test_rename_shows_everywhere_and_leaves_the_package_alone(
    open_window, models, qtbot, monkeypatch
):
    window = open_window()
    page = window.page("modelsPage")
    select(page, "Leaves")
    monkeypatch.setattr(page, "ask_name", lambda entry: "Oak, maple and ash")
    qtbot.mouseClick(page.rename_button, Qt.MouseButton.LeftButton)
    assert "Oak, maple and ash" in rows(page)
    assert page.selected().name == "Oak, maple and ash"  # still selected after the refresh
    assert page.bar.status.text() == "Renamed to “Oak, maple and ash”."
    assert load_package(models["trained"]).name == "Leaves"  # checksummed manifest untouched
    texts = chooser_texts(window.page("classifyPage").model_combo)
    assert "Trained: Oak, maple and ash" in texts and "Trained: Leaves" not in texts
    evaluate = window.page("evaluatePage").model_combo
    assert "Oak, maple and ash" in [evaluate.itemText(i) for i in range(evaluate.count())]


def test_remove_from_the_list_keeps_the_files(open_window, models, qtbot, monkeypatch):
    window = open_window()
    page = window.page("modelsPage")
    select(page, "Leaves")
    asked = []
    monkeypatch.setattr(
        actions, "ask_removal", lambda parent, entry: asked.append(entry.name) or actions.FROM_LIST
    )
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert asked == ["Leaves"]
    assert "Leaves" not in rows(page) and models["trained"].is_dir()
    assert "its files were not touched" in page.bar.status.text()
    assert ModelLibrary().get(models["trained"]) is None
    assert "Trained: Leaves" not in chooser_texts(window.page("classifyPage").model_combo)


def test_delete_moves_the_model_to_the_trash(open_window, models, qtbot, monkeypatch):
    window = open_window()
    page = window.page("modelsPage")
    select(page, "Leaves")
    trashed = []
    monkeypatch.setattr(model_library, "_trash", trashed.append)
    monkeypatch.setattr(actions, "ask_removal", lambda parent, entry: actions.TO_TRASH)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert trashed == [models["trained"]]
    assert "Leaves" not in rows(page) and page.bar.status.text() == "“Leaves” was deleted."


def test_cancelling_remove_changes_nothing(open_window, models, qtbot, monkeypatch):
    page = open_window().page("modelsPage")
    select(page, "Leaves")
    monkeypatch.setattr(actions, "ask_removal", lambda parent, entry: None)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert "Leaves" in rows(page)


def test_a_restart_lists_every_model_in_both_choosers(open_window, models):
    first = open_window()
    first.close()
    again = make_package(models["trained"].parent / "later", "Trained later")
    register(again, origin="trained")  # e.g. ``train`` in a terminal while the window was shut

    window = open_window()  # a fresh window and library: what a restart sees
    classify = window.page("classifyPage").model_combo
    texts = chooser_texts(classify)
    assert texts[0].startswith("Built-in") and texts[-1] == "Open a trained model…"
    assert {"Trained: Leaves", "Trained: Shared birds", "Trained: Trained later"} <= set(texts)
    assert "Trained: Old model" not in texts  # its folder is gone: listed on the Models page only
    assert classify.currentText().startswith("Built-in")

    evaluate = window.page("evaluatePage")
    names = [evaluate.model_combo.itemText(i) for i in range(evaluate.model_combo.count())]
    assert names[0] == "Choose a model…"  # nothing opened yet: it does not pretend otherwise
    assert {"Leaves", "Shared birds", "Trained later"} <= set(names)
    assert evaluate.model is None


def test_use_in_evaluate_and_classify_navigate(open_window, models, qtbot, monkeypatch):
    window = open_window()
    page = window.page("modelsPage")
    select(page, "Shared birds")
    qtbot.mouseClick(page.evaluate_button, Qt.MouseButton.LeftButton)
    evaluate = window.page("evaluatePage")
    assert window.pages.currentWidget() is evaluate
    qtbot.waitUntil(
        lambda: evaluate.job is None and evaluate.model is not None, timeout=JOB_TIMEOUT_MS
    )
    assert evaluate.model.name == "Shared birds" and evaluate.model.key == str(models["archive"])
    assert evaluate.model_combo.currentText() == "Shared birds"

    window.show_page(page)
    select(page, "Leaves")
    used = []
    classify = window.page("classifyPage")
    monkeypatch.setattr(classify, "use_model", used.append)
    qtbot.mouseClick(page.classify_button, Qt.MouseButton.LeftButton)
    assert used == [str(models["trained"])] and window.pages.currentWidget() is classify


def test_show_in_folder_and_export(open_window, models, qtbot, monkeypatch, tmp_path):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page = open_window().page("modelsPage")
    select(page, "Shared birds")
    qtbot.mouseClick(page.folder_button, Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(models["archive"].parent)]

    select(page, "Leaves")
    out = tmp_path / "shared" / "leaves.taxon-model"
    out.parent.mkdir()
    page.export(actions.EXPORT_FORMATS[0], str(out))
    qtbot.waitUntil(lambda: page.bar.worker is None, timeout=JOB_TIMEOUT_MS)
    assert load_package(out).labels == ["oak", "maple", "ash"]
    assert page.bar.status.text().startswith("Exported to \u2068")


def test_models_page_in_arabic_is_mirrored_and_translated_live(open_window, models, qtbot):
    window = open_window("ar")
    page = window.page("modelsPage")
    assert page.isRightToLeft()
    first = page.proxy.index(0, NAME).data()  # "Shared birds (2)" would break apart in RTL
    assert first.startswith("\u2068") and first.endswith("\u2069")
    header = page.proxy.headerData(NAME, Qt.Orientation.Horizontal)
    assert header and header != "Name"
    window.languages.switch("en", persist=False)
    qtbot.waitUntil(lambda: i18n.current_language() == "en")
    QApplication.processEvents()
    assert page.classify_button.text() == "Use in Classify"
    assert page.proxy.headerData(NAME, Qt.Orientation.Horizontal) == "Name"


def test_a_finished_training_is_registered_and_says_where_it_is(
    open_window, qtbot, monkeypatch, tmp_path
):
    from PySide6.QtGui import QDesktopServices

    window = open_window()
    train = window.page("trainPage")
    package = make_package(tmp_path / "digits-model", "Digits 2026-12-06 14.03")
    result = SimpleNamespace(
        package=package, history=[], best_epoch=3, metrics={"accuracy": 0.9, "macro_f1": 0.88}
    )
    train._finished(result)
    entry = ModelLibrary().get(package)
    assert entry is not None and entry.trained_by_taxon
    text = train.result_label.text()
    assert "Saved “Digits 2026-12-06 14.03”" in text
    assert f"The model is in \u2068{package}\u2069" in text
    assert train.folder_button.isEnabled() and train.folder_button.text() == "Show in folder"
    assert train.classify_button.text() == "Use in Classify"
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(train.folder_button, Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(package)]
    models = window.page("modelsPage")
    assert "Digits 2026-12-06 14.03" in rows(models)


def test_default_names_are_unique_within_the_minute(open_window, monkeypatch, tmp_path):
    from datetime import datetime

    import ui.pages.train.page as train_module

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 6, 14, 3, 12)

    monkeypatch.setattr(train_module, "datetime", Frozen)
    train = open_window().page("trainPage")
    assert train.default_name() == "Model 2026-12-06 14.03"
    register(make_package(tmp_path / "one", "Model 2026-12-06 14.03"), origin="trained")
    assert train.default_name() == "Model 2026-12-06 14.03 (2)"


@pytest.mark.slow
def test_exporting_to_onnx_from_the_models_page_gives_a_model_other_programs_run(
    open_window, qtbot, tmp_path
):
    import onnxruntime

    from tests.helpers.deploy_models import digits_dataset, train_package

    package = train_package(
        digits_dataset(tmp_path / "digits"), tmp_path / "Digits", mode="fast", epochs=5
    )
    register(package, origin="trained")
    page = open_window().page("modelsPage")
    select(page, "Digits")
    (onnx,) = [fmt for fmt in actions.EXPORT_FORMATS if fmt.id == "onnx"]
    out = tmp_path / "for my app" / "digits.onnx"
    out.parent.mkdir()
    page.export(onnx, str(out))
    qtbot.waitUntil(lambda: page.bar.worker is None, timeout=JOB_TIMEOUT_MS * 3)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    size = session.get_inputs()[0].shape[1]
    pixels = np.full((1, size, size, 3), 255, dtype=np.uint8)
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: pixels})
    assert probabilities.shape == (1, 3) and abs(float(probabilities.sum()) - 1) < 1e-4
    assert page.bar.status.text().startswith("Exported to \u2068")
