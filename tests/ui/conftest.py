"""Helpers for GUI tests: a fresh main window in a chosen language."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QMenu, QWidget

from ui.app import build_window, create_application
from ui.settings import app_settings


@pytest.fixture
def window(qtbot):
    """The real main window with the real pages, in English, with empty settings."""
    create_application(["taxon-tests"])
    app_settings().clear()
    win = build_window("en")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    from ui.worker import running_workers

    for worker in running_workers():  # a start-up job (model export) may outlast close on a busy CI
        worker.wait(120_000)
    QApplication.instance().setLayoutDirection(win.layoutDirection().LeftToRight)


def visible_texts(root: QWidget) -> set[str]:
    """Every piece of text a user can see on ``root``: labels, buttons, menus, navigation."""
    texts: set[str] = {root.windowTitle()}
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root):
            continue
        if isinstance(widget, QLabel) and not widget.pixmap().isNull():
            continue
        if isinstance(widget, (QLabel, QAbstractButton)):
            texts.add(widget.text())
        if hasattr(widget, "placeholderText"):
            texts.add(widget.placeholderText())
    menubar = getattr(root, "menuBar", None)
    if menubar is not None:
        for action in menubar().actions():
            texts.add(action.text())
            menu = action.menu()
            if isinstance(menu, QMenu):
                texts.update(a.text() for a in menu.actions() if not a.isSeparator())
    nav = getattr(root, "nav", None)
    if nav is not None:
        texts.update(nav.item(row).text() for row in range(nav.count()))
    return {text for text in texts if text and any(ch.isalpha() for ch in text)}
