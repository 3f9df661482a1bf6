"""A scroll area for forms: it scrolls up and down, never sideways.

The content is as wide as the viewport; the area asks for the content's minimum
width (plus the scroll bar), so a splitter or window cannot squeeze the form
until its text is cut off, while its height may shrink to a few rows.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class VerticalScrollArea(QScrollArea):
    def __init__(self, widget: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        if widget is not None:
            self.setWidget(widget)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        widget = self.widget()
        content = widget.minimumSizeHint().width() if widget is not None else 0
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(content + bar + 2 * self.frameWidth(), 80)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.minimumSizeHint().width()), hint.height())
