"""The Data and Health pages, driven as a user would: import, check, fix, undo, save, report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from engine.data.project import Project
from tests.helpers.qt import drop
from ui.pages.data.import_dialog import TableImportDialog

SENTENCES = {
    "sport": [
        "The team won the match",
        "She scored two goals",
        "The coach praised the players",
        "Fans filled the stadium",
        "He ran a marathon",
        "The referee stopped the game",
        "They trained every morning",
        "The cup final was exciting",
        "A new record in swimming",
        "The tennis match went to five sets",
        "球队赢得了比赛",
        "فاز الفريق بالمباراة",
    ],
    "food": [
        "The soup was delicious",
        "She baked fresh bread",
        "We ordered pizza tonight",
        "The chef cooked pasta",
        "Fresh fruit for breakfast",
        "He likes spicy noodles",
        "The cake had chocolate icing",
        "A salad with tomatoes",
        "They grilled fish on the beach",
        "Rice with vegetables and egg",
        "这碗汤很好喝",
        "كان الحساء لذيذا",
    ],
}


@pytest.fixture
def messy_csv(tmp_path) -> Path:
    rows = [(text, label) for label, texts in SENTENCES.items() for text in texts]
    rows += [("The soup was delicious", "food"), ("", "sport"), ("cafÃ© au lait was great", "food")]
    path = tmp_path / "messy 数据.csv"
    path.write_text(
        "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="gb18030"
    )
    return path


@pytest.fixture
def image_folder(tmp_path) -> Path:
    root = tmp_path / "photos"
    rng = np.random.default_rng(3)
    for label, colour in (("猫", (200, 60, 40)), ("dog", (40, 80, 200))):
        (root / label).mkdir(parents=True)
        for index in range(6):
            pixels = np.clip(rng.normal(colour, 25, (64, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    return root


def page(window, name: str):
    widget = window.page(name)
    window.show_page(widget)
    assert window.pages.currentWidget() is widget
    return widget


def import_table(window, qtbot, path: Path):
    data = page(window, "dataPage")
    data.import_path(str(path))
    dialog: TableImportDialog = data._dialog
    qtbot.waitUntil(lambda: dialog.read is not None, timeout=20_000)
    assert dialog.item_combo.currentText() == "text" and dialog.label_combo.currentText() == "label"
    assert "GB18030" in dialog.status.text()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    return data


def test_table_import_detects_encoding_and_columns_and_charts_classes(window, qtbot, messy_csv):
    data = import_table(window, qtbot, messy_csv)
    dataset = window.session.current
    assert len(dataset) == 27 and dataset.task == "text"
    assert "这碗汤很好喝" in set(dataset.frame["item"])
    assert dict(data.class_chart.items) == {"food": 14, "sport": 13}
    assert data.model.rowCount() == 27
    assert "27 texts" in data.summary.text()


def test_line_numbers_and_class_counts_follow_the_ui_digits_but_the_users_table_does_not(
    window, qtbot, tmp_path
):
    from engine.cleaning.findings import Finding
    from engine.core.i18n import Message

    path = tmp_path / "numbers.csv"
    rows = "".join(f"{1000 + i},{'food' if i % 2 else 'sport'}\n" for i in range(1200))
    path.write_text("text,label\n" + rows, encoding="utf-8")
    data = page(window, "dataPage")
    data.import_path(str(path), {"task": "text", "item_column": "text", "label_column": "label"})
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    window.languages.switch("ar", persist=False)
    model = data.model
    qtbot.waitUntil(lambda: model.headerData(2, Qt.Orientation.Horizontal) == "السطر")
    assert model.data(model.index(1199, 2)) == "١٢٠١"  # line 1201: Arabic digits, not grouped
    assert model.data(model.index(0, 0)) == "1000"  # the user's text, as written
    health = page(window, "healthPage")
    counts = Finding(
        kind="label.imbalance",
        severity="warning",
        title=Message("{n} classes", {"n": 2}),
        explanation=Message("x"),
        preview=({"label": "food", "rows": 1200},),
    )
    window.session.set_findings([counts])
    health.findings_list.setCurrentRow(0)
    preview = health.preview_model
    assert preview.data(preview.index(0, 1)) == "١٬٢٠٠"  # a count: grouped, Arabic digits


def test_dropping_an_image_folder_imports_it(window, qtbot, image_folder):
    data = page(window, "dataPage")
    drop(data, [image_folder])
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    assert dict(data.class_chart.items) == {"猫": 6, "dog": 6}
    assert window.session.current.task == "image"


def test_checks_fixes_undo_save_and_report(window, qtbot, messy_csv, tmp_path):
    import_table(window, qtbot, messy_csv)
    original_bytes = hashlib.sha256(messy_csv.read_bytes()).hexdigest()
    health = page(window, "healthPage")
    health.check_button.click()
    qtbot.waitUntil(lambda: health.job is None and bool(window.session.findings), timeout=120_000)
    kinds = {f.kind for f in window.session.findings}
    assert {"text.empty", "text.exact_duplicates", "text.mojibake"} <= kinds
    item = next(
        health.findings_list.item(r)
        for r in range(health.findings_list.count())
        if health.findings_list.item(r).data(Qt.ItemDataRole.UserRole + 1).kind == "text.empty"
    )
    health.findings_list.setCurrentItem(item)
    assert "empty" in health.explanation.text()
    assert health.rows_model.rowCount() == 1 and not health.preview.isVisibleTo(health)
    assert health.rows_model.rows[0]["action"] == "removed"
    item.setCheckState(Qt.CheckState.Checked)
    assert health.apply_button.isEnabled()
    health.apply_button.click()
    qtbot.waitUntil(
        lambda: health.job is None and len(window.session.current) == 26, timeout=120_000
    )
    qtbot.waitUntil(
        lambda: "text.empty" not in {f.kind for f in window.session.findings}, timeout=120_000
    )
    assert health.plan_list.count() == 1
    health.undo_button.click()
    qtbot.waitUntil(
        lambda: health.job is None and len(window.session.current) == 27, timeout=120_000
    )
    assert health.plan_list.count() == 0
    item = next(
        health.findings_list.item(r)
        for r in range(health.findings_list.count())
        if health.findings_list.item(r).data(Qt.ItemDataRole.UserRole + 1).kind
        == "text.exact_duplicates"
    )
    item.setCheckState(Qt.CheckState.Checked)
    health.apply_button.click()
    qtbot.waitUntil(
        lambda: health.job is None and len(window.session.current) == 26, timeout=120_000
    )

    out = tmp_path / "cleaned"
    health.save_cleaned(str(out))
    saved = (out / messy_csv.name).read_text(encoding="utf-8")
    assert saved.count("The soup was delicious") == 1 and "这碗汤很好喝" in saved
    plan = json.loads((out / "cleaning-plan.json").read_text(encoding="utf-8"))
    assert [step["fix"]["kind"] for step in plan["steps"]] == ["keep_one"]
    assert hashlib.sha256(messy_csv.read_bytes()).hexdigest() == original_bytes
    # Saving again into the same, now full, folder never overwrites: a new sub-folder appears.
    before = {path: path.read_bytes() for path in out.iterdir()}
    health.save_cleaned(str(out))
    assert {path: path.read_bytes() for path in before} == before
    (again,) = [path for path in out.iterdir() if path.is_dir()]
    assert (again / messy_csv.name).is_file() and (again / "cleaning-plan.json").is_file()
    health.export_report(str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Data health report" in html


def test_projects_remember_datasets_and_plans(window, qtbot, messy_csv, tmp_path):
    folder = tmp_path / "my project"
    assert window.open_project(str(folder), create=True)
    assert window.windowTitle() == "my project — Taxon"
    import_table(window, qtbot, messy_csv)
    health = page(window, "healthPage")
    health.check_button.click()
    qtbot.waitUntil(lambda: health.job is None and bool(window.session.findings), timeout=120_000)
    window.session.add_fixes([f for f in window.session.findings if f.kind == "text.empty"])
    qtbot.waitUntil(lambda: health.job is None, timeout=120_000)
    window.session.autosave()
    manifest = json.loads((folder / "taxon-project.json").read_text(encoding="utf-8"))
    assert len(manifest["datasets"]) == 1 and manifest["datasets"][0]["plan"]["steps"]

    window.session.set_project(None)
    assert window.session.current is None
    assert window.open_project(str(folder))
    data = page(window, "dataPage")
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    assert len(window.session.current) == 26 and len(window.session.plan) == 1
    assert Project.open(folder).datasets[0].source.encoding == "gb18030"


def test_image_findings_show_thumbnails(window, qtbot, image_folder):
    broken = image_folder / "dog" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    data = page(window, "dataPage")
    data.import_path(str(image_folder))
    qtbot.waitUntil(lambda: window.session.current is not None and data.job is None, timeout=20_000)
    health = page(window, "healthPage")
    health.check_button.click()
    qtbot.waitUntil(lambda: health.job is None and bool(window.session.findings), timeout=120_000)
    row = next(
        r
        for r in range(health.findings_list.count())
        if health.findings_list.item(r).data(Qt.ItemDataRole.UserRole + 1).kind
        == "image.unreadable"
    )
    health.findings_list.setCurrentRow(row)
    rows = health.rows_model
    assert health.rows_view.isVisibleTo(health) and not health.preview.isVisibleTo(health)
    assert rows.rowCount() == 1
    assert rows.data(rows.index(0, 0)).strip("\u2068\u2069") == "broken.png"
    assert rows.data(rows.index(0, 0), Qt.ItemDataRole.ToolTipRole) == str(broken)
    assert rows.data(rows.index(0, rows.column_keys().index("action"))) == "Removed"
    # the healthy images of a duplicate group get real thumbnails; the broken one stays blank
    qtbot.waitUntil(lambda: health.thumbnails.job is None, timeout=10_000)
    assert rows.data(rows.index(0, 0), Qt.ItemDataRole.DecorationRole) is None
