"""The pages of the main window, in navigation order. Only pages that work are listed.

Each entry names its page class by module, so a page's code is imported only
when the page is first shown; the navigation needs just the title and icon. A
page class takes the window; one built on ``ui.page.Page`` shows its jobs in its
job bar and asks for other pages by signal, which the window connects.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QWidget

from engine.core.i18n import N_, _
from engine.core.paths import resources_dir


@dataclass(frozen=True)
class PageSpec:
    page_id: str
    title: str  # an N_ message id
    icon: str  # a file in resources/icons
    module: str
    class_name: str

    def nav_title(self) -> str:
        return _(self.title)

    def nav_icon(self) -> QIcon:
        return QIcon(str(resources_dir() / "icons" / self.icon))

    def __call__(self, window) -> QWidget:
        page_class = getattr(importlib.import_module(self.module), self.class_name)
        return page_class(window)


PAGE_FACTORIES: list[PageSpec] = [
    PageSpec(
        "classifyPage", N_("Classify"), "nav-classify.png", "ui.pages.classify.page", "ClassifyPage"
    ),
    PageSpec("dataPage", N_("Data"), "nav-data.png", "ui.pages.data.page", "DataPage"),
    PageSpec("healthPage", N_("Health"), "nav-health.png", "ui.pages.health.page", "HealthPage"),
    PageSpec("trainPage", N_("Train"), "nav-train.png", "ui.pages.train.page", "TrainPage"),
    PageSpec(
        "evaluatePage", N_("Evaluate"), "nav-evaluate.png", "ui.pages.evaluate.page", "EvaluatePage"
    ),
    PageSpec("modelsPage", N_("Models"), "nav-models.png", "ui.pages.models.page", "ModelsPage"),
]
