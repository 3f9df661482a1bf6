"""The pages of the main window, in navigation order. Only pages that work are listed."""

from __future__ import annotations

from ui.pages.classify.page import ClassifyPage

PAGE_FACTORIES: list = [ClassifyPage]
