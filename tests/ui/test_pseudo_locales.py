"""Every page in the pseudo-locales: no text left untranslated, none cut off.

``en_XA`` makes every message 40% longer and accented inside ⟦ ⟧ (see
``engine.pseudo_locale``); ``ar_XB`` also mirrors the window. Plain English left
on screen never went through ``_()``; a widget narrower than its text clips it.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QTabBar,
    QWidget,
)

from engine import i18n
from tests.ui.test_evaluate_page import settle
from ui.pages import PAGE_FACTORIES

_SEGMENT = re.compile(r"⟦[^⟧]*⟧")
#: Names that are the same in every language.
NOT_TRANSLATED = {"Taxon", *(name for _code, name in i18n.language_choices())}


def _plain_english(text: str) -> bool:
    rest = _SEGMENT.sub("", text.replace("\u202e", "").replace("\u202c", "")).replace("&", "")
    return text not in NOT_TRANSLATED and len(re.findall(r"[A-Za-z]", rest)) >= 2


def _texts(widget: QWidget) -> list[str]:
    if isinstance(widget, QLabel) and widget.pixmap().isNull():
        return [widget.text()] if "<" not in widget.text() else []  # rich text: judged elsewhere
    if isinstance(widget, QAbstractButton):
        return [widget.text()]
    if isinstance(widget, QGroupBox):
        return [widget.title()]
    if isinstance(widget, QTabBar):
        return [widget.tabText(i) for i in range(widget.count())]
    if isinstance(widget, QComboBox) and widget.count():
        return [widget.currentText()]
    return []


def _clipped(widget: QWidget) -> bool:
    if isinstance(widget, QLabel) and (widget.wordWrap() or not widget.pixmap().isNull()):
        return False
    if isinstance(widget, (QLabel, QAbstractButton)) and widget.text():
        return widget.width() + 1 < widget.sizeHint().width()
    return False


def problems(window) -> tuple[set[str], set[str]]:
    untranslated, clipped = set(), set()
    for widget in [window, *window.findChildren(QWidget)]:
        if not widget.isVisibleTo(window):
            continue
        for text in _texts(widget):
            if text and _plain_english(text):
                untranslated.add(text)
        if _clipped(widget):
            clipped.add(f"{type(widget).__name__} {widget.objectName() or ''} {widget.text()!r}")
    for action in window.menuBar().actions():
        if _plain_english(action.text()):
            untranslated.add(action.text())
    return untranslated, clipped


@pytest.mark.parametrize("code", ["en_XA", "ar_XB"])
def test_every_page_is_translated_and_nothing_is_clipped(window, qtbot, code):
    settle(window, qtbot)
    window.resize(1280, 800)
    window.languages.switch(code, persist=False)
    report = []
    for spec in PAGE_FACTORIES:
        window.show_page(window.page(spec.page_id))
        QApplication.processEvents()
        QApplication.processEvents()
        untranslated, clipped = problems(window)
        if untranslated or clipped:
            report.append(f"{spec.page_id}: untranslated {sorted(untranslated)}; clipped {sorted(clipped)}")
    window.languages.switch("en", persist=False)
    assert not report, "\n".join(report)
