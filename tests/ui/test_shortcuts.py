"""Keyboard shortcuts: pages by number, filter, export, re-check, cancel; listed in Help."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ui import shortcuts


def test_ctrl_number_opens_the_pages_in_order(window, qtbot):
    for row in (3, 1, 0):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + row), Qt.KeyboardModifier.ControlModifier)
        assert window.nav.currentRow() == row
        assert window.pages.currentWidget() is window.page_at(row)


def test_ctrl_f_focuses_the_classify_filter(window, qtbot):
    page = window.page("classifyPage")
    window.show_page(page)
    window.activateWindow()
    assert shortcuts.focus_filter(page)
    QApplication.processEvents()
    assert page.filter_edit.hasFocus() or QApplication.focusWidget() is page.filter_edit


def test_f5_checks_the_data_again_on_health(window, monkeypatch):
    page = window.page("healthPage")
    window.show_page(page)
    pressed = []
    page.check_button.setEnabled(True)
    page.check_button.clicked.disconnect()
    page.check_button.clicked.connect(lambda: pressed.append(True))
    assert shortcuts.press(page, shortcuts.RERUN_BUTTONS)
    assert pressed


def test_esc_cancels_the_running_job(window):
    import threading

    from ui.worker import JobWorker

    page = window.page("dataPage")
    window.show_page(page)
    started = threading.Event()

    def job(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.02)

    worker = JobWorker(job, "endless")
    page.bar.run(worker, lambda _result: None, "…")
    started.wait(10)
    assert shortcuts.cancel_job(page)
    assert worker.wait(10_000)


def test_help_lists_the_shortcuts_in_the_ui_language(window):
    assert window.shortcuts_action in window.help_menu.actions()
    window.languages.switch("en_XA", persist=False)
    dialog = window.open_shortcuts()
    assert dialog.table.rowCount() == len(shortcuts.SHORTCUTS)
    assert dialog.windowTitle().startswith("⟦")
    assert all(
        dialog.table.item(row, 1).text().startswith("⟦") for row in range(dialog.table.rowCount())
    )
    dialog.close()
    window.languages.switch("en", persist=False)


def test_images_dropped_anywhere_go_to_classify(window, tmp_path, monkeypatch):
    from ui import drops

    added = []
    page = window.page("classifyPage")
    monkeypatch.setattr(page, "add_inputs", added.append)
    picture = tmp_path / "a.jpg"
    picture.write_bytes(b"x")
    assert drops.handle_drop(window, [str(picture)]) is None
    assert added == [[str(picture)]] and window.pages.currentWidget() is page


def test_a_dropped_folder_asks_whether_to_import_it(window, tmp_path, monkeypatch):
    from ui import drops

    imported = []
    data = window.page("dataPage")
    monkeypatch.setattr(data, "import_path", imported.append)
    box = drops.handle_drop(window, [str(tmp_path)])
    assert box is not None and box.isVisible()
    import_button = next(b for b in box.buttons() if b.text() == "Import as a dataset")
    import_button.click()
    assert imported == [str(tmp_path)] and window.pages.currentWidget() is data
