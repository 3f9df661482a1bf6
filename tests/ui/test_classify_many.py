"""The Classify page with 100,000 results, and one model's results at a time.

The big-table tests insert synthetic results straight into the model: what is
tested is the table (virtual rows, sort, filter, scroll, bounded thumbnails),
not the classifier.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from engine.data.images import THUMBNAIL_SIZE
from engine.models.contract import Classifier, ItemResult, Prediction
from ui.pages.classify import page as page_module
from ui.pages.classify.page import ClassifyPage
from ui.pages.classify.results_model import (
    COLUMN_CONFIDENCE,
    COLUMN_FILE,
    COLUMN_IMAGE,
    ROW_ROLE,
    SHOW_ERRORS,
    SHOW_UNSURE,
    THUMBNAIL_CACHE,
    ResultsFilter,
    ResultsModel,
)
from ui.widgets.thumbnails import ThumbnailLoader

LABELS = ["cat", "dog", "bird", "fish", "horse"]
TINY_JPEG = None


def _jpeg() -> bytes:
    global TINY_JPEG
    if TINY_JPEG is None:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="JPEG")
        TINY_JPEG = buffer.getvalue()
    return TINY_JPEG


def synthetic(count: int, start: int = 0, thumbnails: bool = True) -> list[ItemResult]:
    rng = np.random.default_rng(start)
    scores = rng.random(count)
    results = []
    for offset in range(count):
        index = start + offset
        path = f"/photos/album {index // 1000}/IMG_{index:06d}.jpg"
        if index % 97 == 0:
            results.append(ItemResult(path, error="damaged"))
            continue
        label = LABELS[index % len(LABELS)]
        results.append(
            ItemResult(
                path,
                [Prediction(label, float(scores[offset]))],
                None,
                _jpeg() if thumbnails else None,
            )
        )
    return results


@pytest.fixture
def big(qtbot):
    model = ResultsModel()
    proxy = ResultsFilter(model)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.resize(600, 400)
    qtbot.addWidget(view)
    for start in range(0, 100_000, 10_000):  # arriving in batches, as from a run
        model.add_results(synthetic(10_000, start))
    return model, proxy, view


def test_100000_results_sort_filter_and_scroll(big, qtbot):
    model, proxy, view = big
    assert proxy.rowCount() == 100_000
    assert model.cached_thumbnails() == THUMBNAIL_CACHE  # bounded, not one per row

    view.sortByColumn(COLUMN_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    top = [proxy.index(r, 0).data(ROW_ROLE).score for r in range(50)]
    assert top == sorted(top, reverse=True) and top[0] > 0.999
    view.sortByColumn(COLUMN_FILE, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, 0).data(ROW_ROLE).name == "IMG_000000.jpg"

    proxy.set_show(SHOW_ERRORS)
    assert proxy.rowCount() == len(range(0, 100_000, 97))
    proxy.set_show(SHOW_UNSURE)
    assert 0 < proxy.rowCount() < 30_000
    assert all(proxy.index(r, 0).data(ROW_ROLE).score < 0.25 for r in range(100))
    proxy.set_show("all")
    proxy.set_text("img_09990")
    assert proxy.rowCount() == 10  # IMG_099900 … IMG_099909, found by name, any case
    proxy.set_text("")

    view.show()
    qtbot.waitExposed(view)
    for position in (0, 25_000, 50_000, 99_999):  # scrolling paints only the rows in sight
        view.scrollTo(proxy.index(position, COLUMN_FILE))
        view.viewport().repaint()
    assert view.rowAt(0) > 90_000


def test_new_results_land_in_their_sorted_place(big):
    model, proxy, view = big
    view.sortByColumn(COLUMN_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    model.add_results(
        [
            ItemResult("/new/best.jpg", [Prediction("cat", 1.0)]),
            ItemResult("/new/worst.jpg", [Prediction("cat", 0.0)]),
        ]
    )
    assert proxy.index(0, 0).data(ROW_ROLE).name == "best.jpg"
    last = proxy.index(proxy.rowCount() - 1, 0).data(ROW_ROLE)
    assert last.error_message is not None  # errors sort below every score
    scores = [model.row_at(r).score for r in range(model.rowCount())]
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True)


def test_an_evicted_thumbnail_is_decoded_again_off_the_ui_thread(qtbot, tmp_path):
    photo = tmp_path / "old.jpg"
    Image.new("RGB", (640, 480), (10, 200, 40)).save(photo)
    model = ResultsModel()
    model.loader = ThumbnailLoader(THUMBNAIL_SIZE)
    model.loader.loaded.connect(model.thumbnail_loaded)
    model.add_results([ItemResult(str(photo), [Prediction("cat", 0.9)], None, _jpeg())])
    model.add_results(synthetic(THUMBNAIL_CACHE + 100, start=1))  # pushes the first one out
    assert model.pixmap(0) is None  # not held any more: asked for in the background
    with qtbot.waitSignal(model.dataChanged, timeout=10_000) as changed:
        pass
    assert changed.args[0].row() == 0 and changed.args[0].column() == COLUMN_IMAGE
    pixmap = model.pixmap(0)
    assert pixmap is not None and max(pixmap.width(), pixmap.height()) <= 128
    assert model.cached_thumbnails() == THUMBNAIL_CACHE
    model.loader.stop()


# --------------------------------------------------------------------------- the page


class TinyClassifier(Classifier):
    name = "Tiny test model"
    labels = ["dark", "bright"]

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        bright = pixels.reshape(len(pixels), -1).mean(axis=1, keepdims=True) / 255.0
        return np.hstack([1 - bright, bright])


@pytest.fixture
def page(window, qtbot) -> ClassifyPage:
    page = window.page("classifyPage")
    qtbot.waitUntil(lambda: page.model_ready, timeout=240_000)
    return page


def test_choosing_another_model_clears_the_results_and_says_so(page, qtbot, monkeypatch, tmp_path):
    page.model.add_results(synthetic(30))
    page.results_model_name = page.classifier.name
    monkeypatch.setattr(page_module, "_load_model", lambda key, progress, cancel: TinyClassifier())
    page.use_model(str(tmp_path / "other-model"))
    assert page.model.rowCount() == 0 and page.proxy.rowCount() == 0
    assert "another model" in page.status.text()
    qtbot.waitUntil(lambda: page.model_ready, timeout=30_000)
    assert page.classifier.name == "Tiny test model"
    assert "another model" in page.status.text()


def test_exports_carry_model_threshold_unsure_and_the_on_screen_order(page, tmp_path):
    page.model.add_results(synthetic(40))
    page.results_model_name = "EfficientNet test"
    page.threshold_spin.setValue(50)
    page.table.sortByColumn(COLUMN_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    page.export_to(str(tmp_path / "out.csv"), "csv")
    page.export_to(str(tmp_path / "out.json"), "json")
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    on_screen = [page.proxy.index(r, 0).data(ROW_ROLE).path for r in range(page.proxy.rowCount())]
    assert [row["path"] for row in table] == on_screen
    scores = [float(row["score"]) for row in table if row["score"]]
    assert scores == sorted(scores, reverse=True)
    assert {row["model"] for row in table} == {"EfficientNet test"}
    assert {row["unsure_below"] for row in table} == {"0.5"}
    for row in table:
        expected = "" if row["error"] else ("true" if float(row["score"]) < 0.5 else "false")
        assert row["unsure"] == expected
    records = json.loads(Path(tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [item["path"] for item in records] == on_screen
    assert all(
        item["model"] == "EfficientNet test" and item["unsure_below"] == 0.5 for item in records
    )
    assert [item["unsure"] for item in records if item["error"]] == [None]
    assert any(item["unsure"] is True for item in records)
