"""The selected text result: its top labels, its language, and the words that pushed
the decision, shown as the text itself with each word tinted (green towards the
label, red against it, stronger colour for a stronger push).

The explanation is computed on a worker by the panel (occlusion runs the model
once per word); this widget only shows it. Each paragraph gets the direction of
its own first strong letter, so Arabic reads right to left in an English UI and
English left to right in an Arabic one.
"""

from __future__ import annotations

import html
import unicodedata
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from ui.pages.classify.text_languages import language_label
from ui.pages.classify.text_results import TextRow, isolate
from ui.retranslate import Retranslatable
from ui.scroll import VerticalScrollArea

if TYPE_CHECKING:
    from engine.models.text_package import Segment

TOWARDS = "#2e9d4a"
AGAINST = "#d0342c"
MAX_TINT = 0.75
MIN_TINT = 0.06  # fainter pushes are left untinted: noise, not signal
DISPLAY_CHARS = 20_000


def direction(text: str) -> str | None:
    """ "rtl" or "ltr" from the first strong letter (the Unicode rule), None when there is none."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def blend(base: str, colour: str, amount: float) -> str:
    """``colour`` laid over ``base`` with opacity ``amount`` (0..1), as #rrggbb."""
    a, b = QColor(base), QColor(colour)
    mix = [round(x + (y - x) * amount) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def explanation_html(text: str, segments: list[Segment], base: str = "#ffffff") -> str:
    """The text as HTML paragraphs, each word's background tinted by its weight."""
    shown = text[:DISPLAY_CHARS]
    limit = max((abs(s.weight) for s in segments), default=0.0)
    paragraphs: list[list[str]] = [[]]

    def plain(chunk: str) -> None:
        for number, part in enumerate(chunk.split("\n")):
            if number:
                paragraphs.append([])
            if part:
                paragraphs[-1].append(html.escape(part))

    position = 0
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.end > len(shown):
            break
        plain(shown[position : segment.start])
        word = html.escape(shown[segment.start : segment.end])
        strength = abs(segment.weight) / limit if limit > 0 else 0.0
        if strength * MAX_TINT >= MIN_TINT:
            colour = blend(base, TOWARDS if segment.weight > 0 else AGAINST, strength * MAX_TINT)
            word = f'<span style="background-color:{colour};">{word}</span>'
        paragraphs[-1].append(word)
        position = segment.end
    plain(shown[position:])
    lines = shown.split("\n")
    out = []
    for line, pieces in zip(lines, paragraphs, strict=True):
        way = direction(line)
        attribute = f' dir="{way}" align="{"right" if way == "rtl" else "left"}"' if way else ""
        out.append(f"<p{attribute}>{''.join(pieces) or '&nbsp;'}</p>")
    if len(text) > DISPLAY_CHARS:
        out.append("<p>…</p>")
    return "".join(out)


class TextDetailPanel(Retranslatable, QFrame):
    """Top labels with bars, the language, and the highlighted explanation."""

    ROWS = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("textDetailPanel")
        self.setMinimumWidth(280)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.row: TextRow | None = None
        self.explaining = False
        self.explanation = ""  # the HTML shown, as generated (Qt rewrites what it displays)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: 600;")
        self.heading.setWordWrap(True)  # the "select a result" hint is a whole sentence
        self.name = QLabel()
        self.name.setWordWrap(True)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.language = QLabel()
        self.language.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        grid = QGridLayout()
        self.labels: list[QLabel] = []
        self.bars: list[QProgressBar] = []
        for position in range(self.ROWS):
            label, bar = QLabel(), QProgressBar()
            label.setWordWrap(True)  # a long label must not widen or clip the panel
            bar.setRange(0, 1000)
            bar.setMaximumHeight(14)
            bar.setTextVisible(False)  # the label above says the percentage
            grid.addWidget(label, position * 2, 0)
            grid.addWidget(bar, position * 2 + 1, 0)
            self.labels.append(label)
            self.bars.append(bar)
        self.words_heading = QLabel()
        self.words_heading.setStyleSheet("font-weight: 600;")
        self.words_heading.setWordWrap(True)
        self.words_status = QLabel()
        self.words_status.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setObjectName("explanation")
        self.browser.setOpenLinks(False)
        self.browser.setMinimumHeight(90)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        content = QWidget()
        layout = QVBoxLayout(content)
        for widget in (self.heading, self.name, self.language, self.message):
            layout.addWidget(widget)
        layout.addLayout(grid)
        for widget in (self.words_heading, self.words_status):
            layout.addWidget(widget)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.legend)
        # In a short window the panel scrolls rather than squeezing labels into their bars
        # or cutting the legend off.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(VerticalScrollArea(content))
        self.show_row(None)

    def show_row(self, row: TextRow | None) -> None:
        self.row = row
        self.explaining = False
        self.retranslate_ui()

    def set_explaining(self, row: TextRow) -> None:
        if row is self.row:
            self.explaining = True
            self.retranslate_ui()

    def show_explanation(self, row: TextRow) -> None:
        if row is self.row:
            self.explaining = False
            self.retranslate_ui()

    def show_explanation_error(self, row: TextRow, message: str) -> None:
        if row is self.row:
            self.explaining = False
            self.retranslate_ui()
            self.words_status.setText(message)
            self.words_status.setVisible(bool(message))

    def retranslate_ui(self) -> None:
        row = self.row
        ok = row is not None and row.error is None
        self.heading.setText(
            _("Top labels")
            if row is not None
            else _("Select a result to see its top labels and the words behind them.")
        )
        self.name.setText(isolate(row.display_name) if row is not None else "")
        self.name.setVisible(row is not None)
        self.language.setText(
            _("Language: {language}").format(language=language_label(row.language)) if ok else ""
        )
        self.language.setVisible(ok)
        self.message.setText(row.error if row is not None and row.error else "")
        self.message.setVisible(bool(row and row.error))
        predictions = row.predictions[: self.ROWS] if ok else []
        for position in range(self.ROWS):
            visible = position < len(predictions)
            self.labels[position].setVisible(visible)
            self.bars[position].setVisible(visible)
            if visible:
                label, score = predictions[position]
                self.labels[position].setText(f"{isolate(label)} — {i18n.format_percent(score, 1)}")
                self.bars[position].setValue(int(round(score * 1000)))
                self.bars[position].setFormat(i18n.format_percent(score, 1))
        for widget in (self.words_heading, self.words_status, self.browser, self.legend):
            widget.setVisible(ok)
        self.words_heading.setText(_("Words that pushed the decision"))
        self._show_words(row if ok else None)

    def _show_words(self, row: TextRow | None) -> None:
        if row is None:
            self.explanation = ""
            self.browser.clear()
            return
        if row.segments is None:
            self.words_status.setText(
                _("Working out which words mattered…") if self.explaining else ""
            )
            self.words_status.setVisible(self.explaining)
            self.explanation = explanation_html(row.text, [])
        else:
            self.words_status.setVisible(not row.segments)
            self.words_status.setText(
                _("This text has no words to weigh.") if not row.segments else ""
            )
            base = self.browser.palette().color(QPalette.ColorRole.Base).name()
            self.explanation = explanation_html(row.text, row.segments, base)
        self.browser.setHtml(self.explanation)
        swatch = '<span style="background-color:{}">&nbsp;&nbsp;&nbsp;</span>'
        self.legend.setText(
            swatch.format(TOWARDS)
            + " "
            + html.escape(_("pushed towards “{label}”").format(label=isolate(row.label or "")))
            + "&nbsp;&nbsp; "
            + swatch.format(AGAINST)
            + " "
            + html.escape(_("pushed against it"))
            + "<br>"
            + html.escape(
                _(
                    "The stronger the colour, the stronger the push. Found by leaving "
                    "out one word at a time and watching the confidence change."
                )
            )
        )
