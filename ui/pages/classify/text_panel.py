"""The Classify page's text view, shown while the chosen model is a text model.

Type or paste text (Ctrl+Enter classifies it), open or drop ``.txt`` files (one
text each) or a table (a dialog picks the column; each row is one text). Every
source becomes a queued batch; one ``JobWorker`` at a time reads and classifies
a batch through the page's job bar (progress, Cancel). A file or table that
cannot be read becomes an error row and the rest goes on.

Selecting a result shows its top labels and, computed on a second worker, the
words that pushed the decision. A line above the results compares the languages
the model was trained on with the languages of the user's texts: the model may
well be classifying Arabic after training on English.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _, ngettext
from ui.drops import local_paths
from ui.job_bar import JobBar
from ui.pages.classify.text_detail import TextDetailPanel
from ui.pages.classify.text_input import TABLE_SUFFIXES, TEXT_SUFFIXES, TextInputArea
from ui.pages.classify.text_job import classify_sources
from ui.pages.classify.text_languages import TrainingLanguages, mix_line, training_languages
from ui.pages.classify.text_results import (
    COLUMN_LABEL,
    TextResultsModel,
    TextRow,
)
from ui.pages.classify.widgets import ResultButtons, text_results_table
from ui.retranslate import Retranslatable
from ui.widgets.rows_model import SortProxy
from ui.worker import JobWorker


class TextPanel(ResultButtons, Retranslatable, QWidget):
    """Inputs, the language line, results and the selected result's detail (see the module)."""

    def __init__(
        self, bar: JobBar, export: Callable[[str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("textPanel")
        self.setAcceptDrops(True)
        self.bar = bar
        self.classifier = None
        self.model_name = ""
        self.training: TrainingLanguages | None = None
        self.job: JobWorker | None = None
        self.sources: list[tuple] = []
        self.tables: list[str] = []  # waiting for their column to be chosen
        self.column_dialog = None
        self.last_summary: tuple[int, int] | None = None
        self._typed = 0
        self._generation = 0  # bumped when the model changes: late answers are dropped
        self._explainer: JobWorker | None = None
        self._explain_next: TextRow | None = None
        self._mix_worker: JobWorker | None = None
        self.model = TextResultsModel(self)
        self.proxy = SortProxy(self.model, self)
        self._build(export)
        self.retranslate_ui()

    # -- layout --------------------------------------------------------------------
    def _build(self, export: Callable[[str], None]) -> None:
        self.inputs = TextInputArea()
        self.inputs.texts_entered.connect(self.classify_texts)
        self.inputs.paths_chosen.connect(self.add_paths)
        self.text_box, self.per_line = self.inputs.text_box, self.inputs.per_line
        self.classify_button = self.inputs.classify_button
        self.language_line = QLabel()
        self.language_line.setObjectName("languageLine")
        self.language_line.setWordWrap(True)

        self.build_result_buttons(export)
        tools = QHBoxLayout()
        tools.addWidget(self.language_line, 1)
        tools.addWidget(self.export_button)
        tools.addWidget(self.clear_button)

        self.table = text_results_table(self.proxy)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.detail = TextDetailPanel()
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 360])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.inputs)
        layout.addLayout(tools)
        layout.addWidget(splitter, 1)

    def retranslate_ui(self) -> None:
        self.retranslate_result_buttons()
        self.model.retranslate()
        self.detail.retranslate_ui()
        self.update_language_line()

    # -- the model -------------------------------------------------------------------
    def set_classifier(self, classifier, folder: str | None) -> None:
        """Use ``classifier`` (a text model from package ``folder``), or none while loading."""
        self._generation += 1
        self.classifier = classifier
        self.model_name = getattr(classifier, "name", "") if classifier is not None else ""
        self.training = None
        self._explain_next = None
        self.update_language_line()
        if classifier is None or folder is None:
            return
        generation = self._generation
        worker = JobWorker(
            lambda _progress, _cancel: training_languages(folder), name="training-languages"
        )
        worker.finished.connect(lambda mix: self._training_ready(generation, mix))
        worker.finished.connect(self._mix_worker_done)
        worker.failed.connect(self._mix_worker_done)
        self._mix_worker = worker
        worker.start()
        self._start_next()

    def _training_ready(self, generation: int, mix: TrainingLanguages) -> None:
        if generation == self._generation:
            self.training = mix
            self.update_language_line()

    def _mix_worker_done(self, *_args) -> None:
        self._mix_worker = None

    def update_language_line(self) -> None:
        line = (
            mix_line(self.training, self.model.languages()) if self.classifier is not None else ""
        )
        self.language_line.setText(line)

    @property
    def busy(self) -> bool:
        """A classification is running or waiting (the model must not change under it)."""
        return self.job is not None

    @property
    def idle(self) -> bool:
        """No worker of this panel is running (nothing to wait for)."""
        return (
            self.job is None
            and self._explainer is None
            and self._mix_worker is None
            and not self.sources
        )

    # -- inputs ----------------------------------------------------------------------
    def classify_typed(self) -> None:
        """Classify what is in the box (as one text, or one per line)."""
        self.inputs.submit()

    def classify_texts(self, texts: list[str]) -> None:
        if not texts:
            self.bar.status.setText(_("Type or paste some text first."))
            self.text_box.setFocus()
            return
        numbered = []
        for item in texts:
            self._typed += 1
            numbered.append((self._typed, item))
        self._queue(("typed", numbered))

    def add_paths(self, paths: list[str]) -> None:
        """Text files (and folders of them) are classified; each table asks for its column."""
        files: list[str] = []
        for path in map(Path, paths):
            if path.is_dir():
                files += sorted(
                    str(p)
                    for p in path.rglob("*")
                    if p.suffix.lower() in TEXT_SUFFIXES
                    and p.is_file()
                    and not p.name.startswith(".")
                )
            elif path.suffix.lower() in TABLE_SUFFIXES:
                self.open_table_path(str(path))
            else:
                files.append(str(path))
        if files:
            self._queue(("files", files))

    def add_table(self, path: str, column: str, read=None) -> None:
        """Classify every row of ``column`` (``read``: the table already read, if any)."""
        self._queue(("table", path, column, read))

    def open_table_path(self, path: str) -> None:
        self.tables.append(path)
        self._next_table()

    def _next_table(self) -> None:
        if self.column_dialog is not None or not self.tables:
            return
        from ui.pages.classify.table_column import TableColumnDialog

        dialog = TableColumnDialog(self.tables.pop(0), self)
        dialog.chosen.connect(self.add_table)
        dialog.finished.connect(self._dialog_closed)
        self.column_dialog = dialog
        dialog.open()

    def _dialog_closed(self, _result: int) -> None:
        if self.column_dialog is not None:
            self.column_dialog.deleteLater()
        self.column_dialog = None
        self._next_table()

    def paste(self) -> None:
        """Ctrl+V outside the text box: files are classified, text goes into the box."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        paths = local_paths(mime)
        if paths:
            self.add_paths(paths)
        elif mime.hasText():
            self.text_box.setFocus()
            self.text_box.insertPlainText(mime.text())
        else:
            self.bar.status.setText(_("The clipboard holds no text or file."))

    # -- drag and drop onto the panel -----------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    # -- running ---------------------------------------------------------------------
    def _queue(self, source: tuple) -> None:
        self.sources.append(source)
        if self.classifier is None:
            self.bar.status.setText(_("The texts wait for the model to load."))
        self._start_next()

    def _start_next(self) -> None:
        if self.job is not None or self.classifier is None or not self.sources:
            return
        sources, self.sources = self.sources, []
        classifier = self.classifier
        worker = JobWorker(
            lambda progress, cancel: classify_sources(classifier, sources, progress, cancel),
            name="classify-texts",
        )
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._job_ended)
        worker.cancelled.connect(self._job_ended)
        self.job = worker
        self.bar.run(worker, self._on_finished, _("Reading the texts…"))

    def _on_progress(self, done: int, total, message: str) -> None:
        if total and not message:
            self.bar.status.setText(
                ngettext(
                    "Classified {done} of {total} text", "Classified {done} of {total} texts", total
                ).format(done=i18n.format_number(done), total=i18n.format_number(total))
            )

    def _job_ended(self, *_args) -> None:
        self.job = None
        self.last_summary = None
        QTimer.singleShot(0, self._start_next)  # after the job bar has shown why it ended

    def _on_finished(self, outcome) -> None:
        results, names = outcome
        self.job = None
        first = len(self.model.rows)
        rows = [
            TextRow.from_result(first + index, result, name)
            for index, (result, name) in enumerate(zip(results, names, strict=True))
        ]
        self.model.add_rows(rows)
        errors = sum(1 for row in rows if row.error_message is not None)
        self.last_summary = (len(rows), errors)
        self.update_language_line()
        self.update_status()
        if rows and not self.table.selectionModel().hasSelection():
            self.select_row(rows[0])
        self._start_next()

    def cancel(self) -> None:
        self.sources.clear()
        if self.job is not None:
            self.job.cancel()

    def update_status(self) -> None:
        if self.job is not None:
            return
        if self.last_summary is not None:
            count, errors = self.last_summary
            done = count - errors
            text = ngettext("{n} text classified.", "{n} texts classified.", done).format(
                n=i18n.format_number(done)
            )
            if errors:
                text += " " + ngettext(
                    "{n} text could not be read.", "{n} texts could not be read.", errors
                ).format(n=i18n.format_number(errors))
            self.bar.status.setText(text)
        elif self.classifier is not None and not self.model.rows:
            self.bar.status.setText(
                _("Type, paste or drop texts to classify them with “{model}”.").format(
                    model=self.model_name
                )
            )

    # -- results ---------------------------------------------------------------------
    def select_row(self, row: TextRow) -> None:
        index = self.proxy.mapFromSource(self.model.index(row.order, COLUMN_LABEL))
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _show_selected(self, current, _previous) -> None:
        row = self.model.rows[self.proxy.mapToSource(current).row()] if current.isValid() else None
        self.detail.show_row(row)
        if row is not None:
            self.explain(row)

    def explain(self, row: TextRow) -> None:
        """Work out, on a worker, which words of ``row`` pushed its label (once per row)."""
        if row.error_message is not None or row.segments is not None or self.classifier is None:
            return
        self.detail.set_explaining(row)
        if self._explainer is not None:
            self._explain_next = row  # one at a time; the latest selection wins
            return
        classifier, generation = self.classifier, self._generation
        worker = JobWorker(lambda _progress, _cancel: classifier.explain(row.text), name="explain")
        worker.finished.connect(lambda segments: self._explained(row, segments, generation))
        worker.failed.connect(lambda message, _details: self._explain_failed(row, message))
        worker.cancelled.connect(lambda: self._explain_failed(row, ""))
        self._explainer = worker
        worker.start()

    def _explained(self, row: TextRow, segments, generation: int) -> None:
        self._explainer = None
        if generation == self._generation:
            row.segments = segments
            self.detail.show_explanation(row)
        self._explain_queued()

    def _explain_failed(self, row: TextRow, message: str) -> None:
        self._explainer = None
        self.detail.show_explanation_error(row, message)
        self._explain_queued()

    def _explain_queued(self) -> None:
        row, self._explain_next = self._explain_next, None
        if row is not None and row is self.detail.row:
            self.explain(row)

    def clear(self) -> None:
        self.cancel()
        self.last_summary = None
        self._typed = 0
        self.model.clear()
        self.detail.show_row(None)
        self.update_language_line()
        self.update_status()

    def export_to(self, path: str, kind: str) -> None:
        """Save the results (raises ``UserError`` when the file cannot be written)."""
        from engine.data.result_export import export_text_results

        export_text_results([row.to_export() for row in self.model.rows], path, kind)

    def shutdown(self) -> None:
        """The window is closing: stop and wait for this panel's workers."""
        self.cancel()
        for worker in (self.job, self._explainer, self._mix_worker):
            if worker is not None:
                worker.cancel()
                worker.wait()
