"""Import a table: check the detected encoding and delimiter, pick the columns, see a preview.

Reading runs on a worker thread and is re-run when the user overrides the
encoding or the delimiter; a failure (wrong encoding, ragged rows…) is shown in
the dialog, naming the line, and the user can try another setting.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import N_, _
from ui.retranslate import Retranslatable
from ui.widgets.frame_model import FrameModel
from ui.worker import JobWorker

PREVIEW_ROWS = 200
DELIMITERS = (
    (None, N_("Detect automatically")),
    (",", N_("Comma (,)")),
    (";", N_("Semicolon (;)")),
    ("\t", N_("Tab")),
    ("|", N_("Vertical bar (|)")),
)


class TableImportDialog(Retranslatable, QDialog):
    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tableImportDialog")
        self.path = path
        self.read = None
        self._worker: JobWorker | None = None
        self.resize(820, 560)

        self.file_label = QLabel("\u2068" + Path(path).name + "\u2069")
        self.encoding_combo = QComboBox()
        self.encoding_combo.addItem("", None)
        from engine.data.tables.table_io import SUPPORTED_ENCODINGS

        for codec, _name in SUPPORTED_ENCODINGS:
            self.encoding_combo.addItem("", codec)
        self.delimiter_combo = QComboBox()
        for value, _text in DELIMITERS:
            self.delimiter_combo.addItem("", value)
        self.text_radio, self.image_radio = QRadioButton(), QRadioButton()
        self.text_radio.setChecked(True)
        self.task_group = QButtonGroup(self)
        self.task_group.addButton(self.text_radio)
        self.task_group.addButton(self.image_radio)
        self.item_combo, self.label_combo = QComboBox(), QComboBox()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.preview = QTableView()
        self.model = FrameModel()
        self.preview.setModel(self.model)

        self._labels = {
            key: QLabel() for key in ("file", "encoding", "delimiter", "task", "item", "label")
        }
        form = QFormLayout()
        form.addRow(self._labels["file"], self.file_label)
        form.addRow(self._labels["encoding"], self.encoding_combo)
        form.addRow(self._labels["delimiter"], self.delimiter_combo)
        task_row = QHBoxLayout()
        task_row.addWidget(self.text_radio)
        task_row.addWidget(self.image_radio)
        task_row.addStretch(1)
        form.addRow(self._labels["task"], task_row)
        form.addRow(self._labels["item"], self.item_combo)
        form.addRow(self._labels["label"], self.label_combo)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.buttons)

        self.encoding_combo.currentIndexChanged.connect(self.reload)
        self.delimiter_combo.currentIndexChanged.connect(self.reload)
        self.task_group.buttonToggled.connect(lambda *_: self._guess_columns())
        self.retranslate_ui()
        self.reload()

    # -- reading ---------------------------------------------------------------
    def reload(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()
        encoding, delimiter = self.encoding_combo.currentData(), self.delimiter_combo.currentData()
        path = self.path

        def job(progress, cancel):
            from engine.data.tables.table_io import read_table

            return read_table(
                path, encoding=encoding, delimiter=delimiter, progress=progress, cancel=cancel
            )

        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.status.setText(_("Reading the table…"))
        self._worker = JobWorker(job, name="read-table")
        self._worker.finished.connect(self._on_read)
        self._worker.failed.connect(self._on_failed)
        self._worker.start()

    def _on_read(self, read) -> None:
        self._worker = None
        self.read = read
        self.model.set_frame(read.frame.head(PREVIEW_ROWS))
        for combo in (self.item_combo, self.label_combo):
            combo.clear()
            combo.addItems([str(column) for column in read.frame.columns])
        self._guess_columns()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            len(read.frame.columns) >= 2
        )
        self._show_status()

    def _on_failed(self, message: str, details: str) -> None:
        self._worker = None
        self.read = None
        self.model.set_frame(None)
        self.status.setText(message)
        self.status.setStyleSheet("color: #b3261e;")

    def _guess_columns(self) -> None:
        if self.read is None:
            return
        from engine.data.tables.table_io import guess_columns

        guess = guess_columns(self.read.frame, self.task)
        if guess.item is not None:
            self.item_combo.setCurrentText(str(guess.item))
        if guess.label is not None:
            self.label_combo.setCurrentText(str(guess.label))

    def _show_status(self) -> None:
        if self.read is None:
            return
        from engine.core import i18n
        from engine.data.tables.detect import display_encoding

        self.status.setStyleSheet("")
        rows = len(self.read.frame)
        text = i18n.ngettext("{n} row", "{n} rows", rows).format(n=i18n.format_number(rows))
        if self.read.encoding:
            text += " · " + _("encoding: {encoding}").format(
                encoding=display_encoding(self.read.encoding)
            )
        warnings = [warning.message for warning in self.read.warnings]
        self.status.setText(" ".join([text, *warnings]))

    # -- result ------------------------------------------------------------------
    @property
    def task(self) -> str:
        return "image" if self.image_radio.isChecked() else "text"

    def options(self) -> dict:
        """Keyword arguments for ``engine.data.dataset_io.load_table_dataset``."""
        return {
            "task": self.task,
            "item_column": self.item_combo.currentText(),
            "label_column": self.label_combo.currentText(),
            "encoding": self.read.encoding if self.read else self.encoding_combo.currentData(),
            "delimiter": self.read.delimiter if self.read else self.delimiter_combo.currentData(),
        }

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()
        super().done(result)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Import a table"))
        texts = {
            "file": _("File:"),
            "encoding": _("Encoding:"),
            "delimiter": _("Delimiter:"),
            "task": _("Contains:"),
            "item": _("Text or image column:"),
            "label": _("Label column:"),
        }
        for key, label in self._labels.items():
            label.setText(texts[key])
        from engine.data.tables.table_io import SUPPORTED_ENCODINGS

        self.encoding_combo.setItemText(0, _("Detect automatically"))
        for index, (_codec, name) in enumerate(SUPPORTED_ENCODINGS, start=1):
            self.encoding_combo.setItemText(index, _(name))
        for index, (_value, text) in enumerate(DELIMITERS):
            self.delimiter_combo.setItemText(index, _(text))
        self.text_radio.setText(_("Texts"))
        self.image_radio.setText(_("Image paths"))
        self._show_status()
