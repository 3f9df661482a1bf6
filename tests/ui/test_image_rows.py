"""Image datasets on the Data and Health pages: thumbnails, labels, suggestions, groups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from engine.cleaning.findings import Finding, Fix
from engine.core.i18n import Message
from engine.data.datasets import Dataset, DatasetSource, make_frame
from tests.helpers.synthetic import natural

DECORATION = Qt.ItemDataRole.DecorationRole


@pytest.fixture
def folder(tmp_path) -> Path:
    """Twelve distinct photo-like images in two classes."""
    root = tmp_path / "photos"
    for number, label in enumerate(("cat", "dog")):
        (root / label).mkdir(parents=True)
        for index in range(6):
            natural(10 * number + index, 64, 48).save(root / label / f"{index}.png")
    return root


def load(window, qtbot, root: Path):
    window.resize(1024, 640)  # the rows table shows a few rows, not all of them
    data = window.page("dataPage")
    window.show_page(data)
    data.import_path(str(root))
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    return data


def show(window, findings: list[Finding]):
    health = window.page("healthPage")
    window.show_page(health)
    window.session.set_findings(findings)
    return health


def select(health, qtbot, kind: str) -> None:
    row = next(
        r
        for r in range(health.findings_list.count())
        if health.findings_list.item(r).data(Qt.ItemDataRole.UserRole + 1).kind == kind
    )
    health.findings_list.setCurrentRow(row)
    qtbot.waitUntil(lambda: health.thumbnails.job is None, timeout=20_000)


def cells(model, key: str) -> list[str]:
    column = model.column_keys().index(key)
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def row_finding(kind: str, ids: list[int], **extra) -> Finding:
    return Finding(
        kind=kind,
        severity="warning",
        title=Message(kind),
        explanation=Message(kind),
        row_ids=tuple(ids),
        fix=Fix("drop_rows", {"row_ids": list(ids)}, Message("drop")),
        **extra,
    )


def test_image_label_error_suggestions_show_the_new_label_and_its_confidence(window, qtbot, folder):
    load(window, qtbot, folder)
    ids = window.session.current.frame["row_id"].tolist()[:2]
    finding = Finding(
        kind="label.likely_errors",
        severity="warning",
        title=Message("likely errors"),
        explanation=Message("likely errors"),
        row_ids=tuple(ids),
        fix=Fix("relabel", {"labels": {ids[0]: "dog", ids[1]: "dog"}}, Message("relabel")),
        row_details={ids[0]: {"suggested_label": "dog", "confidence": 0.93}, ids[1]: {}},
    )
    health = show(window, [finding])
    select(health, qtbot, "label.likely_errors")
    rows = health.rows_model
    assert [rows.headerData(c, Qt.Orientation.Horizontal) for c in range(rows.columnCount())] == [
        "Image",
        "Label",
        "Suggested label",
        "Confidence",
        "With the fix",
    ]
    assert cells(rows, "label") == ["cat", "cat"]
    assert cells(rows, "suggested_label") == ["dog", ""]
    assert cells(rows, "confidence") == ["93%", ""]
    assert cells(rows, "action")[0] == "Label becomes “dog”"
    assert isinstance(rows.data(rows.index(0, 0), DECORATION), QPixmap)


def test_contradicting_labels_show_each_images_label_its_group_and_what_stays(
    window, qtbot, folder
):
    from engine.cleaning.image_checks import check_conflicting_labels
    from engine.core.jobs import CancelToken

    shutil.copy(folder / "cat" / "0.png", folder / "dog" / "cat 0.png")
    shutil.copy(folder / "cat" / "0.png", folder / "dog" / "cat 0 again.png")
    shutil.copy(folder / "cat" / "1.png", folder / "dog" / "cat 1.png")
    shutil.copy(folder / "cat" / "1.png", folder / "dog" / "cat 1 again.png")
    load(window, qtbot, folder)
    (finding,) = check_conflicting_labels(window.session.current, lambda *a: None, CancelToken())
    health = show(window, [finding])
    select(health, qtbot, "image.conflicting_labels")
    rows = health.rows_model
    names = [name.strip("\u2068\u2069") for name in cells(rows, "item")]
    assert cells(rows, "group") == ["1", "1", "1", "2", "2", "2"]
    shown = zip(cells(rows, "label"), cells(rows, "action"), strict=True)
    by_name = dict(zip(names, shown, strict=True))
    # Two dogs outvote one cat: each row says its own label and what the fix does to it.
    assert by_name == {
        "cat 0.png": ("dog", "Stays"),
        "cat 0 again.png": ("dog", "Stays"),
        "0.png": ("cat", "Removed"),
        "cat 1.png": ("dog", "Stays"),
        "cat 1 again.png": ("dog", "Stays"),
        "1.png": ("cat", "Removed"),
    }
    # Groups read as groups: every second one on a shaded background.
    background = [rows.data(rows.index(row, 0), Qt.ItemDataRole.BackgroundRole) for row in range(6)]
    assert background[:3] == [None] * 3 and all(shade is not None for shade in background[3:])
    assert all(isinstance(rows.data(rows.index(r, 1), DECORATION), QPixmap) for r in range(6))


def test_every_row_of_a_long_finding_gets_its_thumbnail_when_scrolled_to(
    window, qtbot, folder, monkeypatch
):
    from ui.pages.health import thumbnails as health_thumbnails

    monkeypatch.setattr(health_thumbnails, "MAX_THUMBNAILS", 2)  # the first batch: two rows
    load(window, qtbot, folder)
    ids = window.session.current.frame["row_id"].tolist()
    health = show(window, [row_finding("image.long", ids), row_finding("image.other", ids[:8])])
    select(health, qtbot, "image.long")
    rows, view = health.rows_model, health.rows_view
    last = rows.index(rows.rowCount() - 1, 0)
    assert rows.data(last, DECORATION) is None  # not in the first batch
    view.scrollToBottom()
    qtbot.waitUntil(lambda: isinstance(rows.data(last, DECORATION), QPixmap), timeout=20_000)
    qtbot.waitUntil(lambda: health.thumbnails.job is None, timeout=20_000)
    assert view.verticalScrollBar().value() > 0
    select(health, qtbot, "image.other")  # another finding opens at its first row
    assert view.verticalScrollBar().value() == 0


@pytest.mark.parametrize("language", ["en", "ar"])
def test_health_thumbnails_sit_inside_their_cell_at_its_start(window, qtbot, folder, language):
    from PySide6.QtGui import QColor

    load(window, qtbot, folder)
    ids = window.session.current.frame["row_id"].tolist()
    health = show(window, [row_finding("image.some", ids[:3])])
    select(health, qtbot, "image.some")
    window.languages.switch(language, persist=False)
    rows, view = health.rows_model, health.rows_view
    marker = QPixmap(view.iconSize())
    marker.fill(QColor("#ff0000"))
    for row in rows.rows:
        rows.set_thumbnail(row["item"], marker)
    view.resizeColumnsToContents()
    qtbot.waitUntil(lambda: view.isVisible())
    image = view.viewport().grab().toImage()
    column = rows.column_keys().index("item")
    left = view.columnViewportPosition(column)
    right = left + view.columnWidth(column)
    y = view.rowViewportPosition(0) + view.rowHeight(0) // 2
    red = [x for x in range(image.width()) if image.pixelColor(x, y).name() == "#ff0000"]
    assert len(red) == marker.width()  # whole, not clipped
    margin_start = red[0] - left if language == "en" else right - 1 - red[-1]
    margin_end = right - 1 - red[-1] if language == "en" else red[0] - left
    assert 1 <= margin_start <= 8 and margin_end > 20  # a gap from the border; the name after it


def test_data_page_shows_image_thumbnails_and_no_empty_line_column(window, qtbot, folder):
    from ui.pages.data import table_model

    data = load(window, qtbot, folder)
    model = data.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Image", "Label"]  # a folder has no line numbers
    first = model.index(0, 0)
    qtbot.waitUntil(lambda: isinstance(model.data(first, DECORATION), QPixmap), timeout=20_000)
    assert not model.data(first, DECORATION).isNull()
    assert data.table.verticalHeader().defaultSectionSize() >= table_model.THUMB

    text = make_frame(["a nice day", "rain again"], ["good", "bad"])
    window.session.set_dataset(Dataset("text", text, DatasetSource("table", "texts.csv")))
    assert model.data(model.index(0, 0), DECORATION) is None
    assert data.table.verticalHeader().defaultSectionSize() < table_model.THUMB


def test_data_page_paths_read_left_to_right_and_rows_count_in_arabic(window, qtbot, folder):
    data = load(window, qtbot, folder)
    window.languages.switch("ar", persist=False)
    model = data.model
    shown = model.data(model.index(0, 0), Qt.ItemDataRole.DisplayRole)
    assert shown.startswith("\u2066") and shown.endswith(".png\u2069")  # isolated, whole
    assert model.headerData(0, Qt.Orientation.Vertical) == "١"
    assert data.table.textElideMode() == Qt.TextElideMode.ElideMiddle  # keeps the file name


def test_data_thumbnails_are_decoded_off_the_ui_thread_and_bounded(qtbot, folder, monkeypatch):
    from ui.pages.data import table_model

    monkeypatch.setattr(table_model, "THUMBNAIL_CACHE", 4)
    (folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    paths = sorted(str(path) for path in folder.glob("*/*.png"))
    model = table_model.DataTableModel()
    try:
        model.set_frame(make_frame(paths, ["x"] * len(paths)), ["item", "label"], images=True)
        broken = model.index(paths.index(str(folder / "dog" / "broken.png")), 0)
        assert model.data(broken, DECORATION) is None  # asked: decoding on the loader's thread
        assert model._waiting
        qtbot.waitUntil(lambda: not model._waiting, timeout=20_000)
        assert model.data(broken, DECORATION) is None  # unreadable: blank,
        assert not model._waiting  # and not tried again while remembered
        for row in range(len(paths)):  # as if scrolled through every row
            model.data(model.index(row, 0), DECORATION)
            qtbot.waitUntil(lambda: not model._waiting, timeout=20_000)
        last_good = model.index(paths.index(str(folder / "dog" / "5.png")), 0)
        assert isinstance(model.data(last_good, DECORATION), QPixmap)
        assert model.cached_thumbnails() <= 4  # bounded
    finally:
        model.loader.stop()
