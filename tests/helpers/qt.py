"""Drivers for the GUI tests: wait for the window, switch language, drop files, read texts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QMenu, QWidget

from engine.core import i18n

#: The built-in model's first load converts it (minutes on a busy two-core machine).
MODEL_TIMEOUT_MS = 240_000


def settle(window, qtbot) -> None:
    """Let the window's start-up jobs (device check, built-in model) end before a test does."""
    qtbot.waitUntil(
        lambda: window.device_info is not None and window.page("classifyPage").model_ready,
        timeout=MODEL_TIMEOUT_MS,
    )


def switch(window, qtbot, code: str) -> None:
    """Switch the window to language ``code`` and let every widget repaint its texts."""
    window.languages.switch(code, persist=False)
    qtbot.waitUntil(lambda: i18n.current_language() == code)
    QApplication.processEvents()
    QApplication.processEvents()


def drop(widget, paths: list[Path]) -> None:
    """Drag ``paths`` from a file manager onto ``widget`` and let go, as a user would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(
        point.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        point,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


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
