"""The Qt model over text classification results: one row per text, sortable.

Rows hold the text and its predictions; names, errors and language names are
translated when painted, so they follow a language switch. The confidence
column is drawn by the image view's ``ConfidenceDelegate`` (it reads ``score``
through ``ROW_ROLE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QBrush

from engine.core import i18n
from engine.core.i18n import N_, Message
from ui.pages.classify.results_model import ERROR_COLOR
from ui.pages.classify.text_languages import language_label
from ui.widgets.rows_model import RowsTableModel

if TYPE_CHECKING:
    from engine.data.text_inputs import TextResult
    from engine.models.text_package import Segment

COLUMN_SOURCE, COLUMN_TEXT, COLUMN_LABEL, COLUMN_CONFIDENCE, COLUMN_LANGUAGE = range(5)
HEADERS = (N_("Source"), N_("Text"), N_("Label"), N_("Confidence"), N_("Language"))
_FIRST_LINE = 200
_TOOLTIP = 600
ISOLATE, END_ISOLATE = "\u2068", "\u2069"  # FSI … PDI: the text keeps its own direction


def isolate(text: str) -> str:
    return ISOLATE + text + END_ISOLATE


@dataclass
class TextRow:
    order: int
    name: str
    text: str = ""
    predictions: list[tuple[str, float]] = field(default_factory=list)
    language: str = ""
    error_message: Message | None = None
    name_message: Message | None = None  # typed texts: "Text 3", translated when shown
    segments: list[Segment] | None = None  # the explanation, once computed

    @classmethod
    def from_result(
        cls, order: int, result: TextResult, name_message: Message | None = None
    ) -> TextRow:
        return cls(
            order,
            result.input,
            result.text,
            list(result.predictions),
            result.language,
            result.error,
            name_message,
        )

    @property
    def label(self) -> str | None:
        return self.predictions[0][0] if self.predictions and self.error_message is None else None

    @property
    def score(self) -> float | None:
        return self.predictions[0][1] if self.predictions and self.error_message is None else None

    @property
    def error(self) -> str | None:
        return self.error_message.text() if self.error_message is not None else None

    @property
    def display_name(self) -> str:
        """ "Text 3", "reviews.csv, row 12": numbers in the UI's digits, in the UI language."""
        return self.name if self.name_message is None else self.name_message.text()

    @property
    def path(self) -> str:  # what the image detail panel and filters call it
        return self.display_name

    @property
    def first_line(self) -> str:
        line = next((part.strip() for part in self.text.splitlines() if part.strip()), "")
        return line if len(line) <= _FIRST_LINE else line[:_FIRST_LINE] + "…"

    def to_export(self) -> dict[str, Any]:
        return {
            "input": self.display_name,
            "text": self.text if self.error is None else None,
            "language": self.language or None,
            "label": self.label,
            "score": self.score,
            "top": [{"label": label, "score": score} for label, score in self.predictions]
            if self.error is None
            else [],
            "error": self.error,
        }


class TextResultsModel(RowsTableModel):
    HEADERS = HEADERS
    rows: list[TextRow]

    def languages(self) -> list[str]:
        """The language code of every classified text (for the language line)."""
        return [row.language for row in self.rows if row.error_message is None and row.language]

    def tooltip(self, row: TextRow, column: int) -> str | None:
        if column == COLUMN_TEXT and row.text:
            text = row.text if len(row.text) <= _TOOLTIP else row.text[:_TOOLTIP] + "…"
            return isolate(text)
        if column == COLUMN_SOURCE:
            return isolate(row.display_name)
        return row.error

    def foreground(self, row: TextRow, column: int) -> QBrush | None:
        return QBrush(ERROR_COLOR) if column == COLUMN_LABEL and row.error else None

    def display(self, row: TextRow, column: int) -> str | None:
        if column == COLUMN_SOURCE:
            return isolate(row.display_name)
        if column == COLUMN_TEXT:
            return isolate(row.first_line) if row.error is None else ""
        if column == COLUMN_LABEL:
            return row.error if row.error else row.label
        if column == COLUMN_CONFIDENCE and row.score is not None:
            return i18n.format_percent(row.score, 1)
        if column == COLUMN_LANGUAGE and row.error is None:
            return language_label(row.language)
        return None

    def sort_value(self, row: TextRow, column: int) -> Any:
        if column == COLUMN_CONFIDENCE:
            return -1.0 if row.score is None else row.score
        if column == COLUMN_LABEL:
            return (row.label or "\uffff").casefold()
        if column == COLUMN_TEXT:
            return row.first_line.casefold()
        if column == COLUMN_LANGUAGE:
            return language_label(row.language).casefold() if row.error is None else "\uffff"
        return row.order
