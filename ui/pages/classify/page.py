"""The Classify page: drop images, see what is in them, export the results.

The model loads right after the window's first paint (``warm_up``), behind a
visible "loading" state; inputs dropped before it is ready wait in a queue.
Classification runs as one engine job at a time on a ``JobWorker``; results
stream in through the worker's ``report`` signal and are added to the table in
batches every 100 ms, so the event loop never stalls on a flood of rows. The job
keeps no list of its own (``keep_results=False``): a folder of 100,000 images
costs the table's small rows and a bounded thumbnail cache, nothing more.

The table holds one model's results at a time: choosing another model clears it
(and says so), so an export never mixes two models' labels; exports name the
model and the unsure threshold, and follow the on-screen sort order.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _, ngettext
from engine.core.jobs import UserError
from engine.core.paths import user_cache_dir
from engine.data.result_export import export_results_csv, export_results_json
from ui.errors import show_error
from ui.job_bar import JobBar
from ui.pages.classify.model_choice import BUILTIN, OPEN, ModelChooser
from ui.pages.classify.results_model import (
    COLUMN_CONFIDENCE,
    COLUMN_FILE,
    COLUMN_IMAGE,
    COLUMN_LABEL,
    ROW_ROLE,
    SHOW_CHOICES,
    ResultsFilter,
    ResultsModel,
)
from ui.pages.classify.text_panel import TextPanel
from ui.pages.classify.widgets import ConfidenceDelegate, DetailPanel, DropZone, ThumbnailLoader
from ui.retranslate import Retranslatable
from ui.worker import JobWorker

if TYPE_CHECKING:
    from engine.models.contract import ItemResult

log = logging.getLogger(__name__)
TOP_K = 5
THUMB = 64
_FLUSH_MS = 100


class ClassifyPage(Retranslatable, QWidget):
    def __init__(self, window: QWidget | None = None) -> None:
        super().__init__()
        self.setObjectName("classifyPage")
        self.session = getattr(window, "session", None)
        self.classifier = None
        self.model_key = BUILTIN
        self._loader: JobWorker | None = None
        self._load_error: str | None = None
        self.job: JobWorker | None = None
        self.pending: list[str] = []
        self._buffer: list[ItemResult] = []
        self._started_at = 0.0
        self._progress_text = ""
        self._last_summary: tuple[int, int] | None = None
        self._run_counts = [0, 0]  # results and errors of the running job
        self.results_model_name: str | None = None  # the model behind the table's results
        self._cleared_for_model = False

        self.model = ResultsModel(self)
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.loaded.connect(self.model.thumbnail_loaded)
        self.model.loader = self.thumbnails
        self.proxy = ResultsFilter(self.model, self)
        self._flush_timer = QTimer(self, interval=_FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

        self._build()
        from ui.pages.classify.add_to_dataset import install as install_add_to_dataset

        self.add_to_dataset = install_add_to_dataset(self, window)  # "Add to dataset…"
        self.retranslate_ui()

    # -- layout ------------------------------------------------------------
    def _build(self) -> None:
        self.model_label = QLabel()
        self.model_combo = ModelChooser(self.session)
        self.model_combo.activated.connect(self._model_chosen)
        if self.session is not None:
            self.session.project_changed.connect(self.model_combo.refresh)
            self.session.models_changed.connect(self.model_combo.refresh)
        self.model_status = QLabel()
        self.model_status.setObjectName("modelStatus")
        self.model_status.setWordWrap(True)  # long languages: wrap, never widen the window
        top = QHBoxLayout()
        top.addWidget(self.model_label)
        top.addWidget(self.model_combo, 1)
        top.addWidget(self.model_status, 1)

        self.drop_zone = DropZone()
        self.drop_zone.paths_dropped.connect(self.add_inputs)
        self.drop_zone.image_dropped.connect(self.add_image)
        self.drop_zone.open_files_button.clicked.connect(self.open_files)
        self.drop_zone.open_folder_button.clicked.connect(self.open_folder)
        self.drop_zone.paste_button.clicked.connect(self.paste)
        QShortcut(QKeySequence.StandardKey.Paste, self, activated=self.paste)

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
        self.threshold_spin.setSuffix(" %")
        self.threshold_spin.setValue(25)
        self.threshold_spin.valueChanged.connect(self._threshold_changed)
        self.export_button = QToolButton()
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self)
        self.export_csv_action = self.export_menu.addAction("", lambda: self.export("csv"))
        self.export_json_action = self.export_menu.addAction("", lambda: self.export("json"))
        self.export_button.setMenu(self.export_menu)
        self.clear_button = QPushButton()
        self.clear_button.clicked.connect(self.clear)
        tools = QHBoxLayout()
        tools.addWidget(self.filter_edit, 2)
        tools.addWidget(self.show_combo)
        tools.addWidget(self.threshold_label)
        tools.addWidget(self.threshold_spin)
        tools.addStretch(1)
        tools.addWidget(self.export_button)
        tools.addWidget(self.clear_button)

        self.table = QTableView()
        self.table.setObjectName("resultsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMN_FILE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.table.setItemDelegateForColumn(COLUMN_CONFIDENCE, ConfidenceDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COLUMN_IMAGE, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COLUMN_IMAGE, THUMB + 12)
        header.setSectionResizeMode(COLUMN_FILE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COLUMN_LABEL, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(COLUMN_CONFIDENCE, 150)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.detail = DetailPanel()
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.bar = JobBar(self.cancel)
        self.status, self.progress, self.cancel_button = self.bar.status, self.bar.progress, self.bar.cancel_button
        self.status.setObjectName("classifyStatus")

        self.image_view = QWidget()  # images; a text model shows the text panel instead
        image_layout = QVBoxLayout(self.image_view)
        image_layout.setContentsMargins(0, 0, 0, 0)
        image_layout.addWidget(self.drop_zone)
        image_layout.addLayout(tools)
        image_layout.addWidget(splitter, 1)
        self.text_panel = TextPanel(self.bar, self.export)
        self.modes = QStackedWidget()
        self.modes.addWidget(self.image_view)
        self.modes.addWidget(self.text_panel)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.modes, 1)
        layout.addWidget(self.bar)
        self._set_running(False)

    # -- navigation ----------------------------------------------------------
    page_id = "classifyPage"

    def retranslate_ui(self) -> None:
        self.model_label.setText(_("Model:"))
        self.model_combo.refresh()
        self.filter_edit.setPlaceholderText(_("Filter by label or file name…"))
        for index, (_key, text) in enumerate(SHOW_CHOICES):
            self.show_combo.setItemText(index, _(text))
        self.threshold_label.setText(_("Unsure below:"))
        self.threshold_spin.setToolTip(_("Results with a lower confidence are marked as unsure."))
        self.export_button.setText(_("Export"))
        self.export_csv_action.setText(_("Export as CSV…"))
        self.export_json_action.setText(_("Export as JSON…"))
        self.clear_button.setText(_("Clear"))
        self.model.retranslate()
        self._fit_image_column()
        self._update_model_status()
        self._update_status()
        self.detail.retranslate_ui()

    def _fit_image_column(self) -> None:
        """The thumbnail column is as wide as a thumbnail, or as its title where that is wider
        (Russian "Изображение" was cut to "Изображени")."""
        header = self.table.horizontalHeader()
        title = str(self.model.headerData(COLUMN_IMAGE, Qt.Orientation.Horizontal) or "")
        width = header.fontMetrics().horizontalAdvance(title) + 2 * header.style().pixelMetric(
            QStyle.PixelMetric.PM_HeaderMargin) + 8
        header.resizeSection(COLUMN_IMAGE, max(THUMB + 12, width))

    # -- model loading ---------------------------------------------------------
    def warm_up(self) -> None:
        """Load the model now, after the first paint, so no user action waits on it."""
        if self.classifier is not None or self._loader is not None:
            return
        self._load_error = None
        key = self.model_key
        self._loader = JobWorker(lambda progress, cancel: _load_model(key, progress, cancel),
                                 name="load-model")
        self._loader.progress.connect(lambda _d, _t, message: self.model_status.setText(message))
        self._loader.finished.connect(self._model_ready)
        self._loader.failed.connect(self._model_failed)
        self._update_model_status()
        self._loader.start()

    @property
    def model_ready(self) -> bool:
        return self.classifier is not None

    def _model_chosen(self, _index: int) -> None:
        key = self.model_combo.currentData()
        if key == OPEN:
            key = self.model_combo.ask_for_folder()
        if key:
            self.use_model(key)
        else:
            self.model_combo.refresh()

    def prefer_model(self, key: str) -> None:
        """Start with this model instead of the built-in one (a model file the user opened)."""
        if self.classifier is None and self._loader is None:
            self.model_key = self.model_combo.current_key = key
        else:
            self.use_model(key)

    def use_model(self, key: str) -> None:
        """Classify with the built-in model ("builtin") or the package in folder ``key``."""
        if self.job is not None or self._loader is not None or self.text_panel.busy:
            self.model_combo.refresh()  # not while classifying or loading: the choice snaps back
            self.status.setText(_("Wait until the current work ends to change the model."))
            return
        if key == self.model_key and self.classifier is not None:
            return
        if self.classifier is not None:
            self.text_panel.set_classifier(None, None)
            self.classifier.close()
            self.classifier = None
        if key != self.model_key and self.model.rowCount():
            self._clear_results()  # one model's results at a time: never mixed in one export
            self._cleared_for_model = True
            self._update_status()
        self.model_key = key
        self.model_combo.current_key = key
        self.model_combo.refresh()
        self.warm_up()

    def _model_ready(self, classifier) -> None:
        self.classifier = classifier
        self._loader = None
        self.model.display_label = self.detail.display_label = classifier.display_label
        self.model_combo.remember(self.model_key, classifier.name)
        self._show_mode()
        self._update_model_status()
        self._start_next()

    @property
    def text_mode(self) -> bool:
        return self.modes.currentWidget() is self.text_panel

    def _show_mode(self) -> None:
        """The text view for a text model, the image view otherwise."""
        text = getattr(self.classifier, "task", "image") == "text"
        self.modes.setCurrentWidget(self.text_panel if text else self.image_view)
        self.text_panel.set_classifier(self.classifier if text else None,
                                       self.model_key if text else None)
        if not text:
            self.text_panel.cancel()  # texts queued for a text model that did not load
        self._update_status()

    def _model_failed(self, message: str, details: str) -> None:
        self._loader = None
        if self.model_key != BUILTIN:  # a bad package: back to the built-in model next time
            self.model_key = self.model_combo.current_key = BUILTIN
            self.model_combo.refresh()
        self._load_error = message
        self.pending.clear()
        self._show_mode()
        self._update_model_status()
        show_error(self, message, details)

    def _update_model_status(self) -> None:
        if self.classifier is not None:
            self.model_status.setText(_("Model ready"))
        elif self._load_error:
            self.model_status.setText(_("The model could not be loaded."))
        else:
            self.model_status.setText(_("Loading the model…"))

    # -- inputs --------------------------------------------------------------
    def add_inputs(self, paths: list[str]) -> None:
        paths = [str(path) for path in paths if str(path)]
        if not paths:
            return
        if self.text_mode:
            self.text_panel.add_paths(paths)
            return
        self.pending.extend(paths)
        if self.classifier is None:
            self.warm_up()
            self._update_status()
            return
        self._start_next()

    def add_image(self, image: QImage) -> None:
        """Image data (pasted or dragged from another app) is saved to the cache, then classified."""
        if image.isNull():
            return
        folder = user_cache_dir() / "pasted"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / time.strftime("pasted-%Y%m%d-%H%M%S.png")
        suffix = 1
        while path.exists():
            path = folder / time.strftime(f"pasted-%Y%m%d-%H%M%S-{suffix}.png")
            suffix += 1
        if not image.save(str(path), "PNG"):
            show_error(self, _("The pasted image could not be saved."))
            return
        self.add_inputs([str(path)])

    def paste(self) -> None:
        if self.text_mode:
            self.text_panel.paste()
            return
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if files:
            self.add_inputs(files)
        elif mime.hasImage():
            self.add_image(QImage(mime.imageData()))
        else:
            self.status.setText(_("The clipboard holds no image or file."))

    def open_files(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        files, _selected = QFileDialog.getOpenFileNames(
            self, _("Open images"), "",
            _("Images") + " (*.jpg *.jpeg *.png *.webp *.gif *.bmp *.tif *.tiff);;" + _("All files") + " (*)",
        )
        self.add_inputs(files)

    def open_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, _("Open folder"))
        if folder:
            self.add_inputs([folder])

    # -- running -------------------------------------------------------------
    def _start_next(self) -> None:
        if self.job is not None or self.classifier is None or not self.pending:
            return
        if self.text_mode:  # dropped while a text model was loading
            paths, self.pending = self.pending, []
            self.text_panel.add_paths(paths)
            return
        paths, self.pending = self.pending, []
        classifier = self.classifier
        self.results_model_name = getattr(classifier, "name", None)
        self._cleared_for_model = False
        self._run_counts = [0, 0]

        def job(progress, cancel):
            from engine.models.inference import classify_images

            return classify_images(classifier, paths, TOP_K, progress, cancel,
                                   on_result=worker.report_fn, keep_results=False)

        worker = JobWorker(job, name="classify")
        worker.report.connect(self._on_result)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.job = worker
        self._started_at = time.monotonic()
        self._progress_text = _("Looking for images…")
        self._set_running(True)
        self._flush_timer.start()
        worker.start()

    def cancel(self) -> None:
        self.pending.clear()
        self.text_panel.cancel()
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total, message: str) -> None:
        self.bar.show_progress(done, total)
        self._progress = (done, total or 0)
        self._update_status()

    def _end_job(self) -> None:
        self._flush()
        self._flush_timer.stop()
        if self.job is not None:
            self.job.wait()
        self.job = None
        self._set_running(False)
        self._start_next()

    def _on_finished(self, _results: list[ItemResult]) -> None:
        self._last_summary = (self._run_counts[0], self._run_counts[1])
        self._end_job()
        self._update_status()

    def _on_cancelled(self) -> None:
        self._last_summary = None
        self._end_job()
        self.status.setText(_("Cancelled."))

    def _on_failed(self, message: str, details: str) -> None:
        self._end_job()
        self.status.setText(message)
        show_error(self, message, details)

    def _on_result(self, result: ItemResult) -> None:
        self._run_counts[0] += 1
        self._run_counts[1] += result.error is not None
        self._buffer.append(result)

    def _flush(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.model.add_results(batch)
            if not self.table.selectionModel().hasSelection() and self.proxy.rowCount():
                self.table.selectionModel().setCurrentIndex(
                    self.proxy.index(0, COLUMN_LABEL),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )

    def _set_running(self, running: bool) -> None:
        self.bar.set_running(running)
        if running:
            self._progress = (0, 0)

    def _update_status(self) -> None:
        if self.text_mode:
            self.text_panel.update_status()
            return
        if self.job is not None:
            done, total = getattr(self, "_progress", (0, 0))
            if not total:  # still counting a big folder: the count so far
                self.status.setText(_("Looking for images…") if not done else ngettext(
                    "Classified {n} image…", "Classified {n} images…", done).format(
                        n=i18n.format_number(done)))
                return
            text = ngettext("Classified {done} of {total} image", "Classified {done} of {total} images",
                            total).format(done=i18n.format_number(done), total=i18n.format_number(total))
            elapsed = time.monotonic() - self._started_at
            if done and done < total and elapsed > 1:
                left = elapsed / done * (total - done)
                text += " · " + _("about {time} left").format(time=i18n.format_duration(left))
            self.status.setText(text)
        elif self.pending and self.classifier is None:
            count = len(self.pending)
            self.status.setText(ngettext("{n} item waits for the model to load.",
                                         "{n} items wait for the model to load.", count)
                                .format(n=i18n.format_number(count)))
        elif self._last_summary is not None:
            count, errors = self._last_summary
            count -= errors
            text = ngettext("{n} image classified.", "{n} images classified.", count).format(
                n=i18n.format_number(count))
            if errors:
                text += " " + ngettext("{n} file could not be read.", "{n} files could not be read.",
                                       errors).format(n=i18n.format_number(errors))
            self.status.setText(text)
        elif self._cleared_for_model:
            self.status.setText(_("The results were cleared because you chose another model. "
                                  "Drop images to classify them with it."))
        elif self.model.rowCount() == 0:
            self.status.setText(_("Drop images to classify them with the selected model."))

    # -- results ---------------------------------------------------------------
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
        self._update_status()

    def _clear_results(self) -> None:
        self._last_summary = None
        self.results_model_name = None
        self._buffer.clear()
        self.model.clear()
        self.detail.show_row(None, None)

    def export(self, kind: str) -> None:
        if not (self.text_panel.model.rows if self.text_mode else self.model.rows):
            self.status.setText(_("There are no results to export yet."))
            return
        from PySide6.QtWidgets import QFileDialog

        name_filter = _("CSV table") + " (*.csv)" if kind == "csv" else _("JSON file") + " (*.json)"
        path, _selected = QFileDialog.getSaveFileName(self, _("Export results"), f"taxon-results.{kind}",
                                                     name_filter)
        if not path:
            return
        self.export_to(path, kind)

    def export_to(self, path: str, kind: str) -> None:
        """Save the results in on-screen order, with the model's name and the threshold."""
        rows = [row.to_export() for row in self.model.rows_in_view_order()]
        try:
            if self.text_mode:
                self.text_panel.export_to(path, kind)
            else:
                save = export_results_csv if kind == "csv" else export_results_json
                save(rows, path, model=self.results_model_name or "",
                     unsure_below=self.model.threshold)
        except UserError as error:
            show_error(self, error.message, error.details)
            return
        self.status.setText(_("Saved {name}.").format(name=Path(path).name))

    def shutdown(self) -> None:
        """Stop the decode worker processes and free the model (the window is closing)."""
        self.text_panel.shutdown()
        self.thumbnails.stop()
        if self.classifier is not None:
            self.classifier.close()
            self.classifier = None
        if "engine.core.workers" in sys.modules:
            from engine.core.workers import close as close_decode_workers

            close_decode_workers()


def _load_model(key: str, progress, cancel):
    """Runs on a worker thread: importing numpy/onnxruntime here keeps start-up fast."""
    from engine.core.workers import warm_up_decoders
    from engine.models.loading import load_classifier

    classifier = load_classifier(None if key == BUILTIN else key, progress, cancel)
    warm_up_decoders()
    return classifier
