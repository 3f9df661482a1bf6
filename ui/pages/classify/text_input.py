"""Where texts come in on the Classify page's text view: a box to type or paste into
(Ctrl+Enter or the Classify button), "one text per line", and buttons to open text
files or a table. It only says what the user entered; the panel classifies it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import _, pgettext
from ui.drops import local_paths
from ui.pages.classify.widgets import wrapping_row
from ui.retranslate import Retranslatable

TEXT_SUFFIXES = {".txt", ".text", ".md"}
TABLE_SUFFIXES = {
    ".csv",
    ".tsv",
    ".tab",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".jsonl",
    ".ndjson",
    ".parquet",
    ".pq",
}


class TextBox(QTextEdit):
    """The typing area: Ctrl+Enter submits; dropped files go to the panel, not into the text.

    A QTextEdit (plain text only) rather than a QPlainTextEdit: it gives each paragraph the
    direction of its own first letter, so an Arabic line sits on the right in any UI.
    """

    submitted = Signal()
    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptRichText(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source) -> bool:  # noqa: N802
        return bool(local_paths(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source) -> None:  # noqa: N802
        paths = local_paths(source)
        if paths:
            self.files_dropped.emit(paths)
        else:
            super().insertFromMimeData(source)


class TextInputArea(Retranslatable, QWidget):
    """Emits ``texts_entered(texts)`` (empty when the box is) and ``paths_chosen(paths)``."""

    texts_entered = Signal(list)
    paths_chosen = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_box = TextBox()
        self.text_box.setObjectName("textBox")
        self.text_box.setMaximumHeight(120)
        self.text_box.submitted.connect(self.submit)
        self.text_box.files_dropped.connect(self.paths_chosen)
        self.classify_button = QPushButton()
        self.classify_button.setDefault(True)
        self.classify_button.clicked.connect(self.submit)
        self.per_line = QCheckBox()
        self.open_files_button = QPushButton()
        self.open_files_button.clicked.connect(self.open_files)
        self.open_table_button = QPushButton()
        self.open_table_button.clicked.connect(self.open_table)
        # Two groups that wrap onto two rows where one row would widen the window (Russian).
        buttons = wrapping_row(
            (self.classify_button, self.per_line),
            (self.open_files_button, self.open_table_button),
        )
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text_box)
        layout.addWidget(buttons)
        layout.addWidget(self.hint)
        self.retranslate_ui()

    def submit(self) -> None:
        text = self.text_box.toPlainText()
        if self.per_line.isChecked():
            self.texts_entered.emit([line for line in text.splitlines() if line.strip()])
        else:
            self.texts_entered.emit([text] if text.strip() else [])

    def open_files(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        files, _selected = QFileDialog.getOpenFileNames(
            self,
            _("Open text files"),
            "",
            _("Text files") + " (*.txt *.text *.md);;" + _("All files") + " (*)",
        )
        if files:
            self.paths_chosen.emit(files)

    def open_table(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _selected = QFileDialog.getOpenFileName(
            self,
            _("Open a table"),
            "",
            _("Tables")
            + " (*.csv *.tsv *.tab *.xlsx *.xlsm *.jsonl *.ndjson *.parquet);;"
            + _("All files")
            + " (*)",
        )
        if path:
            self.paths_chosen.emit([path])

    def retranslate_ui(self) -> None:
        self.text_box.setPlaceholderText(
            _("Type or paste text here, in any language. Ctrl+Enter classifies it.")
        )
        self.classify_button.setText(pgettext("action", "Classify"))
        self.classify_button.setToolTip(_("Classify the text in the box (Ctrl+Enter)"))
        self.per_line.setText(_("One text per line"))
        self.per_line.setToolTip(_("Classify each line of the box as a text of its own."))
        self.open_files_button.setText(_("Open text files…"))
        self.open_table_button.setText(_("Open a table…"))
        self.hint.setText(
            _(
                "Or drop text files here (each file is one text) or a table "
                "(CSV, Excel, JSON Lines, Parquet: you choose the column)."
            )
        )
