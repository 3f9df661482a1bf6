"""Which column of a table holds the texts to classify: a small dialog with a preview.

The table is read on a worker (a large file must not freeze the window); the
text column is guessed the way the Data page guesses it, and the preview
highlights the chosen column. The dialog is window-modal but not blocking
(``open()``), so the page goes on painting and tests can drive it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from ui.retranslate import Retranslatable
from ui.widgets.frame_model import FrameModel
from ui.worker import JobWorker

PREVIEW_ROWS = 100


class TableColumnDialog(Retranslatable, QDialog):
    """Emits ``chosen(path, column, read)`` when the user accepts a column."""

    chosen = Signal(str, str, object)

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tableColumnDialog")
        self.path = path
        self.read = None
        self.error: str | None = None
        self._worker: JobWorker | None = None
        self.resize(760, 480)
        self.file_label = QLabel("\u2068" + Path(path).name + "\u2069")
        self.column_combo = QComboBox()
        self.column_combo.currentIndexChanged.connect(self._highlight)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.preview = QTableView()
        self.preview.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectColumns)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.model = FrameModel()
        self.preview.setModel(self.model)
        self.file_caption, self.column_caption = QLabel(), QLabel()
        form = QFormLayout()
        form.addRow(self.file_caption, self.file_label)
        form.addRow(self.column_caption, self.column_combo)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.buttons)
        self.retranslate_ui()
        self._read()

    @property
    def ready(self) -> bool:
        """The table has been read (or failed to be); the user can choose now."""
        return self._worker is None

    def _read(self) -> None:
        path = self.path

        def job(progress, cancel):
            from engine.data.tables.table_io import read_table

            return read_table(path, progress=progress, cancel=cancel)

        self._worker = JobWorker(job, name="read-table")
        self._worker.finished.connect(self._on_read)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.start()

    def _on_read(self, read) -> None:
        from engine.data.tables.table_io import guess_columns

        self._worker = None
        self.read = read
        self.model.set_frame(read.frame.head(PREVIEW_ROWS))
        self.column_combo.blockSignals(True)
        self.column_combo.clear()
        for column in read.frame.columns:
            self.column_combo.addItem(str(column), str(column))
        guess = guess_columns(read.frame, "text").item
        if guess is not None:
            self.column_combo.setCurrentIndex(max(0, self.column_combo.findData(str(guess))))
        self.column_combo.blockSignals(False)
        self.ok_button.setEnabled(self.column_combo.count() > 0 and len(read.frame) > 0)
        self._highlight()
        self.retranslate_ui()

    def _on_failed(self, message: str, _details: str) -> None:
        self._worker = None
        self.error = message
        self.status.setStyleSheet("color: #b3261e;")
        self.retranslate_ui()

    def _on_cancelled(self) -> None:
        self._worker = None

    def _highlight(self) -> None:
        index = self.column_combo.currentIndex()
        if index >= 0:
            self.preview.selectColumn(index)

    @property
    def column(self) -> str | None:
        return self.column_combo.currentData()

    def accept(self) -> None:
        if self.read is None or self.column is None:
            return
        self.chosen.emit(self.path, self.column, self.read)
        super().accept()

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()
            self._worker = None
        super().done(result)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Classify a table column"))
        self.file_caption.setText(_("File:"))
        self.column_caption.setText(_("Column with the texts:"))
        if self.error:
            self.status.setText(self.error)
        elif self.read is None:
            self.status.setText(_("Reading the table…"))
        else:
            rows = len(self.read.frame)
            self.status.setText(
                i18n.ngettext(
                    "{n} row: each row of the chosen column is classified as one text.",
                    "{n} rows: each row of the chosen column is classified as one text.",
                    rows,
                ).format(n=i18n.format_number(rows))
            )
