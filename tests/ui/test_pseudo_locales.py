"""Every page in the pseudo-locales: no text left untranslated, none cut off.

``en_XA`` makes every message 40% longer and accented inside ⟦ ⟧ (see
``engine.core.pseudo_locale``); ``ar_XB`` also mirrors the window. Plain English left
on screen never went through ``_()``; a widget narrower than its text clips it
(the closing ⟧ is not seen).

The quick test here looks at the empty pages; the slow one, after real work, is in
``test_pseudo_locales_after_work.py``. Both judge the screen with
``tests.helpers.pseudo_locales.problems``.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers.pseudo_locales import PSEUDO, problems, settle_events
from tests.helpers.qt import settle
from ui.pages import PAGE_FACTORIES


@pytest.mark.parametrize("code", PSEUDO)
def test_every_page_is_translated_and_nothing_is_clipped(window, qtbot, code):
    settle(window, qtbot)
    window.resize(1280, 800)
    window.languages.switch(code, persist=False)
    report = []
    for spec in PAGE_FACTORIES:
        window.show_page(window.page(spec.page_id))
        settle_events()
        untranslated, clipped = problems(window)
        if untranslated or clipped:
            report.append(
                f"{spec.page_id}: untranslated {sorted(untranslated)}; clipped {sorted(clipped)}"
            )
    window.languages.switch("en", persist=False)
    assert not report, "\n".join(report)


def test_the_error_dialog_follows_a_language_switch(window, qtbot):
    from ui.errors import show_error
    from ui.worker import unexpected_error_text

    box = show_error(window, *unexpected_error_text())
    qtbot.waitExposed(box)
    english = box.text()
    window.languages.switch("en_XA", persist=False)
    settle_events()
    assert box.text() != english and "⟦" in box.text() and "⟦" in box.windowTitle()
    window.languages.switch("en", persist=False)
    settle_events()
    assert box.text() == english
    box.close()


def test_arabic_menus_underline_no_letter_inside_a_word(window):
    """Qt underlines the letter after ``&``; in a joined script that splits the word's
    shape, so Arabic (and Hindi, Thai…) menus drop the mnemonic; ``文件(&F)`` keeps it."""
    from ui.language import mnemonic

    assert mnemonic("المشاريع ال&حديثة") == "المشاريع الحديثة"
    assert mnemonic("&ملف") == "ملف"
    assert mnemonic("文件(&F)") == "文件(&F)" and mnemonic("&File") == "&File"
    assert mnemonic("A && B") == "A && B"
    window.languages.switch("ar", persist=False)
    texts = [action.text() for action in window.menuBar().actions()]
    texts += [
        item.text()
        for action in window.menuBar().actions()
        if action.menu()
        for item in action.menu().actions()
    ]
    window.languages.switch("en", persist=False)
    assert not [text for text in texts if re.search("&[\u0600-\u06ff]", text)], texts
