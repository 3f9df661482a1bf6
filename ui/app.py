"""Start the Qt application: logging, language, error hooks, the main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from engine.core.logs import setup_logging
from ui.errors import install_excepthooks
from ui.language import LanguageManager
from ui.main_window import MainWindow, app_icon

log = logging.getLogger(__name__)


def default_pages() -> list[Callable[[MainWindow], QWidget]]:
    from ui.pages import PAGE_FACTORIES

    return list(PAGE_FACTORIES)


def create_application(argv: Sequence[str]) -> QApplication:
    path = setup_logging()
    log.info("Taxon starting; log at %s", path)
    app = QApplication.instance() or QApplication(list(argv))
    app.setApplicationName("Taxon")
    app.setOrganizationName("Taxon")
    app.setApplicationDisplayName("Taxon")
    app.setDesktopFileName("taxon")
    app.setWindowIcon(app_icon())
    return app


def build_window(
    language: str | None = None, pages: list[Callable[[MainWindow], QWidget]] | None = None
) -> MainWindow:
    """Switch to the saved (or given) language, then build the window in it."""
    app = QApplication.instance()
    languages = LanguageManager(app)
    languages.switch(language or languages.initial_language(), persist=language is not None)
    window = MainWindow(languages, default_pages() if pages is None else pages)
    install_excepthooks(window)
    return window


def run(argv: Sequence[str], language: str | None = None) -> int:
    app = create_application([sys.argv[0], *argv])
    window = build_window(language)
    if argv:  # a model package or .taxon-model file the system asked us to open
        page = window.page("classifyPage")
        page.prefer_model(str(Path(argv[0]).resolve()))
        window.show_page(page)
    window.show()
    return app.exec()
