"""The window fits small screens in every language and never resizes itself."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from ui.pages import PAGE_FACTORIES

LANGUAGES = ["en", "ru", "hi", "ar", "en_XA", "ar_XB"]


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


@pytest.mark.slow
def test_every_page_fits_800_by_600_in_every_language(window):
    window.resize(800, 600)
    too_wide = []
    for code in LANGUAGES:
        window.languages.switch(code, persist=False)
        for spec in PAGE_FACTORIES:
            page = window.page(spec.page_id)
            window.show_page(page)
            _settle()
            hint = page.minimumSizeHint()
            room = window.pages.size()
            if hint.width() > room.width():
                too_wide.append(f"{code} {spec.page_id}: {hint.width()} > {room.width()}")
            assert window.size().toTuple() == (800, 600), (code, spec.page_id)
    window.languages.switch("en", persist=False)
    assert window.minimumSize().width() <= 800 and window.minimumSize().height() <= 600
    assert not too_wide, "\n".join(too_wide)


def test_train_settings_never_scroll_sideways(window):
    window.resize(1024, 640)
    page = window.page("trainPage")
    window.show_page(page)
    for code in ("en", "ru", "en_XA"):
        window.languages.switch(code, persist=False)
        _settle()
        scroll = page.form.parentWidget().parentWidget().parentWidget()
        assert not scroll.horizontalScrollBar().isVisible()
        assert page.form.width() <= scroll.viewport().width()
    window.languages.switch("en", persist=False)


def test_switching_pages_and_languages_keeps_the_window_size(window):
    window.resize(1024, 640)
    for code in ("de", "ru", "hi", "en"):
        window.languages.switch(code, persist=False)
        for row in range(window.nav.count()):
            window.nav.setCurrentRow(row)
            _settle()
            assert window.size().toTuple() == (1024, 640), (code, row)
