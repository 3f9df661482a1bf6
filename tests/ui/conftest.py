"""Fixtures for GUI tests: a fresh main window in a chosen language."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

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
