"""The pages of the main window, in navigation order. Only pages that work are listed."""

from __future__ import annotations

from ui.pages.classify.page import ClassifyPage
from ui.pages.data.page import DataPage
from ui.pages.health.page import HealthPage

PAGE_FACTORIES: list = [ClassifyPage, DataPage, HealthPage]
