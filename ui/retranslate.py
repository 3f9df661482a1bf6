"""The retranslation convention every Taxon widget follows.

A widget sets all of its visible text in one ``retranslate_ui()`` method, called
once at construction and again on every ``QEvent.LanguageChange``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent


class Retranslatable:
    """Mixin for QWidget subclasses (list it first) that define ``retranslate_ui``."""

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate_ui()
        super().changeEvent(event)
