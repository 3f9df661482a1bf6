"""The Classify page's image view, shown while the chosen model is an image model.

Drop, open or paste images and folders; inputs that come before the model is
ready wait in ``pending``. Classification runs as one engine job at a time on a
``JobWorker``; results stream in through the worker's ``report`` signal and are
added to the table in batches every 100 ms, so the event loop never stalls on a
flood of rows. The job keeps no list of its own (``keep_results=False``): a
folder of 100,000 images costs the table's small rows and a bounded thumbnail
cache, nothing more. Mirrors ``TextPanel``: the page owns the job bar and the
model, this panel everything about image inputs and results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _, ngettext
from engine.data.result_export import export_results_csv, export_results_json
from ui.errors import show_error
from ui.job_bar import JobBar
from ui.locale_numbers import show_as_percent
from ui.pages.classify.image_inputs import (
    ask_for_folder,
    ask_for_images,
    save_pasted_image,
    waiting_text,
)
from ui.pages.classify.results_model import (
    COLUMN_LABEL,
    ROW_ROLE,
    SHOW_CHOICES,
    ResultsFilter,
    ResultsModel,
)
from ui.pages.classify.widgets import (
    DetailPanel,
    DropZone,
    ResultButtons,
    fit_image_column,
    results_table,
    wrapping_row,
)
from ui.retranslate import Retranslatable
from ui.widgets.thumbnails import ThumbnailLoader
from ui.worker import JobWorker

if TYPE_CHECKING:
    from engine.models.contract import ItemResult

TOP_K = 5
_FLUSH_MS = 100
#: How far down the view the first classified row is looked for (errors first is rare).
_FIRST_ROW_SCAN = 1000


class ImagePanel(ResultButtons, Retranslatable, QWidget):
    """Drop zone, filter and export tools, results and the selected result (see the module)."""

    #: Files or folders the user gave (dropped, opened, pasted); the page routes them.
    paths_chosen = Signal(list)

    def __init__(
        self, bar: JobBar, export: Callable[[str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bar = bar
        self.classifier = None
        self.job: JobWorker | None = None
        self.pending: list[str] = []
        self._buffer: list[ItemResult] = []
        self._started_at = 0.0
        self._progress = (0, 0)
        self._summary_due = False  # say what the table holds (a job finished)
        self._counts = [0, 0]  # results and errors in the table, over every job since a clear
        self.results_model_name: str | None = None  # the model behind the table's results
        self._cleared_for_model = False

        self.model = ResultsModel(self)
        self.thumbnails = ThumbnailLoader(parent=self)  # the classifier's thumbnail size
        self.thumbnails.loaded.connect(self.model.thumbnail_loaded)
        self.model.loader = self.thumbnails
        self.proxy = ResultsFilter(self.model, self)
        self._flush_timer = QTimer(self, interval=_FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._build(export)

    # -- layout ------------------------------------------------------------------------
    def _build(self, export: Callable[[str], None]) -> None:
        self.drop_zone = DropZone()
        self.drop_zone.paths_dropped.connect(self.paths_chosen)
        self.drop_zone.image_dropped.connect(self.add_image)
        self.drop_zone.open_files_button.clicked.connect(self.open_files)
        self.drop_zone.open_folder_button.clicked.connect(self.open_folder)
        self.drop_zone.paste_button.clicked.connect(self.paste)

        self.filter_edit = QLineEdit()
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.show_combo = QComboBox()
        for key, _text in SHOW_CHOICES:
            self.show_combo.addItem("", key)
        self.show_combo.currentIndexChanged.connect(
            lambda: self.proxy.set_show(self.show_combo.currentData())
        )
        self.threshold_label = QLabel()
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0, 100)
        self.threshold_spin.setDecimals(0)
        show_as_percent(self.threshold_spin)  # "25%", "٢٥٪": the UI language's sign and digits
        self.threshold_spin.setValue(25)
        self.threshold_spin.valueChanged.connect(self._threshold_changed)
        self.build_result_buttons(export)
        self.filter_edit.setMinimumWidth(200)  # room for the placeholder, in any language
        tools = wrapping_row(
            (self.filter_edit, self.show_combo),
            (self.threshold_label, self.threshold_spin),
            (self.export_button, self.clear_button),
        )

        self.table = results_table(self.proxy)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.detail = DetailPanel()
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.drop_zone)
        layout.addWidget(tools)
        layout.addWidget(splitter, 1)

    def retranslate_ui(self) -> None:
        self.filter_edit.setPlaceholderText(_("Filter by label or file name…"))
        self.filter_edit.setToolTip(self.filter_edit.placeholderText())  # where it is cut
        for index, (_key, text) in enumerate(SHOW_CHOICES):
            self.show_combo.setItemText(index, _(text))
        self.threshold_label.setText(_("Unsure below:"))
        self.threshold_spin.setToolTip(_("Results with a lower confidence are marked as unsure."))
        self.retranslate_result_buttons()
        self.model.retranslate()
        fit_image_column(self.table)
        self.detail.retranslate_ui()

    # -- the model -------------------------------------------------------------------
    def set_classifier(self, classifier) -> None:
        """Classify with ``classifier`` (an image model), or with none while one loads."""
        self.classifier = classifier
        if classifier is not None:
            self.model.display_label = self.detail.display_label = classifier.display_label

    @property
    def busy(self) -> bool:
        return self.job is not None

    def clear_for_model(self) -> None:
        """Another model was chosen: one model's results at a time, never mixed in one export."""
        if self.model.rowCount():
            self._clear_results()
            self._cleared_for_model = True

    # -- inputs ----------------------------------------------------------------------
    def add_paths(self, paths: list[str]) -> None:
        """Queue files and folders; they are classified as soon as the model is ready."""
        self.pending.extend(paths)
        if self.classifier is None:
            self.update_status()
        else:
            self.start_next()

    def add_image(self, image: QImage) -> None:
        """Image data (pasted or dragged from another app) is saved to the cache, then
        classified."""
        if image.isNull():
            return
        path = save_pasted_image(image)
        if path is None:
            show_error(self, _("The pasted image could not be saved."))
            return
        self.paths_chosen.emit([path])

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if files:
            self.paths_chosen.emit(files)
        elif mime.hasImage():
            self.add_image(QImage(mime.imageData()))
        else:
            self.bar.status.setText(_("The clipboard holds no image or file."))

    def open_files(self) -> None:
        self.paths_chosen.emit(ask_for_images(self))

    def open_folder(self) -> None:
        folder = ask_for_folder(self)
        if folder:
            self.paths_chosen.emit([folder])

    # -- running ---------------------------------------------------------------------
    def start_next(self) -> None:
        if self.job is not None or self.classifier is None or not self.pending:
            return
        paths, self.pending = self.pending, []
        classifier = self.classifier
        self.results_model_name = getattr(classifier, "name", None)
        self._cleared_for_model = False

        def job(progress, cancel):
            from engine.models.inference import classify_images

            return classify_images(
                classifier,
                paths,
                TOP_K,
                progress,
                cancel,
                on_result=worker.report_fn,
                keep_results=False,
            )

        worker = JobWorker(job, name="classify")
        worker.report.connect(self._on_result)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.job = worker
        self._started_at = time.monotonic()
        self._set_running(True)
        self._flush_timer.start()
        worker.start()

    def cancel(self) -> None:
        self.pending.clear()
        if self.job is not None:
            self.job.cancel()
            self.bar.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total, message: str) -> None:
        self.bar.show_progress(done, total)
        self._progress = (done, total or 0)
        self.update_status()

    def _end_job(self) -> None:
        self._flush()
        self._flush_timer.stop()
        if self.job is not None:
            self.job.wait()
        self.job = None
        self._set_running(False)
        self.start_next()

    def _on_finished(self, _results: list[ItemResult]) -> None:
        self._summary_due = True
        self._end_job()
        self._select_first(errors_too=True)
        self.update_status()

    def _on_cancelled(self) -> None:
        self._summary_due = False
        self._end_job()
        self.bar.status.setText(_("Cancelled."))

    def _on_failed(self, message: str, details: str) -> None:
        self._end_job()
        self.bar.status.setText(message)
        show_error(self, message, details)

    def _on_result(self, result: ItemResult) -> None:
        self._counts[0] += 1
        self._counts[1] += result.error is not None
        self._buffer.append(result)

    def _flush(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.model.add_results(batch)
            self._select_first(errors_too=False)

    def _select_first(self, errors_too: bool) -> None:
        """Open the detail panel on the first classified row, so it shows top labels rather
        than an error; on an error row only when the job is over and nothing else came.
        Only while nothing is selected: a row the user chose stays chosen."""
        if self.table.selectionModel().hasSelection():
            return
        for position in range(min(self.proxy.rowCount(), _FIRST_ROW_SCAN)):
            index = self.proxy.index(position, COLUMN_LABEL)
            if errors_too or self.proxy.mapToSource(index).data(ROW_ROLE).error_message is None:
                self.table.selectionModel().setCurrentIndex(
                    index,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                return

    def _set_running(self, running: bool) -> None:
        self.bar.set_running(running)
        if running:
            self._progress = (0, 0)

    def update_status(self) -> None:
        text = self._status_text()
        if text is not None:
            self.bar.status.setText(text)

    def _status_text(self) -> str | None:
        """What the status line says now; None keeps what it says (a job's last word)."""
        if self.job is not None:
            done, total = self._progress
            if not total:  # still counting a big folder: the count so far
                return (
                    _("Looking for images…")
                    if not done
                    else ngettext("Classified {n} image…", "Classified {n} images…", done).format(
                        n=i18n.format_number(done)
                    )
                )
            text = ngettext(
                "Classified {done} of {total} image", "Classified {done} of {total} images", total
            ).format(done=i18n.format_number(done), total=i18n.format_number(total))
            elapsed = time.monotonic() - self._started_at
            if done and done < total and elapsed > 1:
                left = elapsed / done * (total - done)
                text += " · " + _("about {time} left").format(time=i18n.format_duration(left))
            return text
        if self.pending and self.classifier is None:
            return waiting_text(self.pending)
        if self._summary_due:
            count, errors = self._counts
            count -= errors
            text = ngettext("{n} image classified.", "{n} images classified.", count).format(
                n=i18n.format_number(count)
            )
            if errors:
                text += " " + ngettext(
                    "{n} file could not be read.", "{n} files could not be read.", errors
                ).format(n=i18n.format_number(errors))
            return text
        if self._cleared_for_model:
            return _(
                "The results were cleared because you chose another model. "
                "Drop images to classify them with it."
            )
        if self.model.rowCount() == 0:
            return _("Drop images to classify them with the selected model.")
        return None

    # -- results ---------------------------------------------------------------------
    def _threshold_changed(self, value: float) -> None:
        self.model.set_threshold(value / 100)
        self.proxy.refilter()

    def _show_selected(self, current, _previous) -> None:
        if not current.isValid():
            self.detail.show_row(None, None)
            return
        source = self.proxy.mapToSource(current)
        self.detail.show_row(source.data(ROW_ROLE), self.model.pixmap(source.row()))

    def clear(self) -> None:
        self.cancel()
        self._cleared_for_model = False
        self._clear_results()
        self.update_status()

    def _clear_results(self) -> None:
        self._summary_due = False
        self._counts = [0, 0]
        self.results_model_name = None
        self._buffer.clear()
        self.model.clear()
        self.detail.show_row(None, None)

    def export_to(self, path: str, kind: str) -> None:
        """Save the results in on-screen order, with the model's name and the threshold
        (raises ``UserError`` when the file cannot be written)."""
        rows = [row.to_export() for row in self.model.rows_in_view_order()]
        save = export_results_csv if kind == "csv" else export_results_json
        save(rows, path, model=self.results_model_name or "", unsure_below=self.model.threshold)

    def shutdown(self) -> None:
        """The window is closing: stop decoding thumbnails."""
        self.thumbnails.stop()
