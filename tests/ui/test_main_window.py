"""The main window: navigation, menus, status bar, live language switching."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from engine.core import i18n
from engine.core.logs import log_file_path
from tests.helpers.qt import visible_texts
from ui.settings import DEVICE_KEY, LANGUAGE_KEY, app_settings

ROOT = Path(__file__).resolve().parents[2]
#: Language names (each in its own language) and the product name are the same everywhere.
UNTRANSLATED_OK = {"Taxon", *(name for _code, name in i18n.language_choices())}


#: Words that really are the same in a language (German says "Offline" too).
SAME_AS_ENGLISH = {
    "de": {"● Offline"},
    "fr": {"● Offline"},
    "es": {"● Offline"},
    "pt_BR": {"● Offline"},
}


def _switch(window, qtbot, code: str) -> None:
    action = next(a for a in window.language_menu_actions() if a.data() == code)
    action.trigger()
    qtbot.waitUntil(lambda: window.file_menu.title() != "" and i18n.current_language() == code)
    QApplication.processEvents()
    QApplication.processEvents()


def test_window_shows_pages_menus_and_offline_status(window, qtbot):
    assert window.windowTitle() == "Taxon"
    assert window.nav.count() == window.pages.count() >= 1
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Language", "&Settings", "&Help"]
    assert window.offline_label.text() == "● Offline"
    qtbot.waitUntil(lambda: window.device_label.text().startswith("CPU: "), timeout=60_000)


def test_language_menu_lists_languages_by_their_own_names(window):
    names = [a.text() for a in window.language_menu_actions()]
    assert names == [
        "English",
        "简体中文",
        "繁體中文",
        "日本語",
        "한국어",
        "Español",
        "Français",
        "Deutsch",
        "Português (Brasil)",
        "Русский",
        "العربية",
        "हिन्दी",
    ]


def test_switching_languages_live_changes_every_visible_string(window, qtbot):
    qtbot.waitUntil(lambda: window.device_info is not None, timeout=60_000)
    pages = window.built_pages()
    qtbot.waitUntil(
        lambda: all(getattr(page, "model_ready", True) for page in pages), timeout=240_000
    )
    # "CPU: <model name>" is the same in some languages (Korean keeps "CPU:").
    english = visible_texts(window) - UNTRANSLATED_OK - {window.device_label.text()}
    assert len(english) >= 8
    for code in i18n.SHIPPED_LANGUAGES[1:]:
        _switch(window, qtbot, code)
        now = visible_texts(window)
        same = english & now - SAME_AS_ENGLISH.get(code, set())
        assert not same, f"{code}: still English: {same}"
        assert window.layoutDirection() == (
            Qt.LayoutDirection.RightToLeft if i18n.is_rtl(code) else Qt.LayoutDirection.LeftToRight
        )
    _switch(window, qtbot, "en")
    assert english <= visible_texts(window)


def test_arabic_mirrors_the_layout_and_sets_the_locale(window, qtbot):
    _switch(window, qtbot, "ar")
    assert QApplication.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert window.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert window.nav.mapTo(window, window.nav.rect().topLeft()).x() > window.width() / 2
    assert QLocale().language() == QLocale.Language.Arabic
    _switch(window, qtbot, "en")
    assert QApplication.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_open_dialogs_and_qt_buttons_follow_the_switch(window, qtbot):
    dialog = window.open_settings()
    qtbot.waitExposed(dialog)
    cancel = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    assert dialog.windowTitle() == "Settings" and cancel.text() == "Cancel"
    _switch(window, qtbot, "zh_CN")
    qtbot.waitUntil(lambda: dialog.windowTitle() == "设置")
    assert "取消" in cancel.text()
    _switch(window, qtbot, "ar")
    qtbot.waitUntil(lambda: dialog.windowTitle() == "الإعدادات")
    assert cancel.text() == "ألغِ"  # Qt's own Arabic catalog
    dialog.reject()


def test_language_choice_persists(window, qtbot):
    _switch(window, qtbot, "zh_CN")
    assert app_settings().value(LANGUAGE_KEY) == "zh_CN"
    assert window.languages.initial_language() == "zh_CN"


def test_first_run_follows_the_system_locale(window, monkeypatch):
    app_settings().remove(LANGUAGE_KEY)
    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("ar_EG")))
    assert window.languages.initial_language() == "ar"


def test_settings_dialog_saves_the_device_and_language(window, qtbot):
    dialog = window.open_settings()
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("ar"))
    dialog.accept()
    assert app_settings().value(DEVICE_KEY) == "cpu"
    assert i18n.current_language() == "ar"
    _switch(window, qtbot, "en")


def test_about_lists_every_bundled_model_and_library_with_its_licence(window, qtbot):
    dialog = window.open_about()
    text = dialog._browser.toPlainText()
    for needle in (
        "EfficientNet-Lite0",
        "class names (ImageNet) are shown in the interface language",
        "Apache-2.0",
        "PyTorch",
        "BSD-3-Clause",
        "Qt",
        "LGPL-3.0-only",
        "ONNX Runtime",
        "MIT",
    ):
        assert needle in text
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    packages = {line.split("==")[0].lower() for line in requirements if "==" in line}
    licences = json.loads((ROOT / "resources" / "licenses.json").read_text())
    listed = {item["package"].lower() for item in licences["libraries"]}
    assert packages <= listed, f"licences missing for {packages - listed}"
    dialog.reject()


def test_view_log_shows_the_log_file(window, qtbot):
    import logging

    logging.getLogger("taxon.test").warning("marker-for-the-log-dialog")
    for handler in logging.getLogger().handlers:
        handler.flush()
    dialog = window.open_log()
    assert "marker-for-the-log-dialog" in dialog._text.toPlainText()
    assert str(log_file_path()) in dialog._path_label.text()
    dialog.reject()


def test_pages_are_built_when_first_shown(window, qtbot):
    assert [page.page_id for page in window.built_pages()] == ["classifyPage"]
    window.nav.setCurrentRow(2)
    assert window.pages.currentWidget().objectName() == "healthPage"
    assert len(window.built_pages()) == 2 and window.nav.item(2).text() == "Health"


def test_window_paints_before_heavy_libraries_are_imported(tmp_path):
    env = dict(
        os.environ,
        TAXON_EXIT_AFTER_PAINT="1",
        TAXON_HOME=str(tmp_path),
        QT_QPA_PLATFORM="offscreen",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["torch_imported"] is False
    assert report["heavy_imported"] == []
