"""The Classify page: choose a model, drop images or texts, see what is in them, export.

The model loads right after the window's first paint (``warm_up``), behind a
visible "loading" state; inputs dropped before it is ready wait in the shown
panel's queue. The page owns the model (chooser, loading, switching) and the job
bar, and shows one of two panels under them: the ``ImagePanel`` for an image
model, the ``TextPanel`` for a text model. Each panel runs its own jobs.

The results hold one model's results at a time: choosing another model clears
them (and says so), so an export never mixes two models' labels; exports name
the model and the unsure threshold, and follow the on-screen sort order.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from engine.core.i18n import _
from engine.core.jobs import UserError
from ui.errors import show_error
from ui.job_bar import JobBar
from ui.pages.classify.image_panel import ImagePanel
from ui.pages.classify.model_choice import BUILTIN, OPEN, ModelChooser
from ui.pages.classify.text_panel import TextPanel
from ui.retranslate import Retranslatable
from ui.worker import JobWorker


class ClassifyPage(Retranslatable, QWidget):
    page_id = "classifyPage"

    def __init__(self, window: QWidget | None = None) -> None:
        super().__init__()
        self.setObjectName("classifyPage")
        self.session = getattr(window, "session", None)
        self.classifier = None
        self.model_key = BUILTIN
        self._loader: JobWorker | None = None
        self._load_error: str | None = None
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

        self.bar = JobBar(self.cancel)
        self.status, self.progress, self.cancel_button = (
            self.bar.status,
            self.bar.progress,
            self.bar.cancel_button,
        )
        self.status.setObjectName("classifyStatus")
        QShortcut(QKeySequence.StandardKey.Paste, self, activated=self.paste)

        self.image_panel = ImagePanel(self.bar, self.export)
        self.image_panel.paths_chosen.connect(self.add_inputs)
        # The image view's parts, as tests and "Add to dataset…" reach them.
        panel = self.image_panel
        self.model, self.proxy = panel.model, panel.proxy
        self.table, self.detail, self.drop_zone = panel.table, panel.detail, panel.drop_zone
        self.filter_edit, self.show_combo = panel.filter_edit, panel.show_combo  # Ctrl+F
        self.export_button = panel.export_button  # Ctrl+E
        self.threshold_spin = panel.threshold_spin
        self.text_panel = TextPanel(self.bar, self.export)
        self.modes = QStackedWidget()
        self.modes.addWidget(self.image_panel)
        self.modes.addWidget(self.text_panel)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.modes, 1)
        layout.addWidget(self.bar)
        self.bar.set_running(False)

    def retranslate_ui(self) -> None:
        self.model_label.setText(_("Model:"))
        self.model_combo.refresh()
        self.image_panel.retranslate_ui()
        self._update_model_status()
        self._update_status()

    # -- the image panel's state, as the page's -------------------------------------
    @property
    def job(self) -> JobWorker | None:
        """The image classification running, if any."""
        return self.image_panel.job

    @property
    def pending(self) -> list[str]:
        """Image inputs waiting for the model or for the running job."""
        return self.image_panel.pending

    @property
    def results_model_name(self) -> str | None:
        return self.image_panel.results_model_name

    @results_model_name.setter
    def results_model_name(self, name: str | None) -> None:
        self.image_panel.results_model_name = name

    # -- model loading ---------------------------------------------------------
    def warm_up(self) -> None:
        """Load the model now, after the first paint, so no user action waits on it."""
        if self.classifier is not None or self._loader is not None:
            return
        self._load_error = None
        key = self.model_key
        self._loader = JobWorker(
            lambda progress, cancel: _load_model(key, progress, cancel), name="load-model"
        )
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
        if self.image_panel.busy or self._loader is not None or self.text_panel.busy:
            self.model_combo.refresh()  # not while classifying or loading: the choice snaps back
            self.status.setText(_("Wait until the current work ends to change the model."))
            return
        if key == self.model_key and self.classifier is not None:
            return
        if self.classifier is not None:
            self.text_panel.set_classifier(None, None)
            self.image_panel.set_classifier(None)
            self.classifier.close()
            self.classifier = None
        if key != self.model_key and self.model.rowCount():
            self.image_panel.clear_for_model()
            self._update_status()
        self.model_key = key
        self.model_combo.current_key = key
        self.model_combo.refresh()
        self.warm_up()

    def _model_ready(self, classifier) -> None:
        self.classifier = classifier
        self._loader = None
        self.model_combo.remember(self.model_key, classifier.name)
        self._show_mode()
        self._update_model_status()
        self._start_next()

    @property
    def text_mode(self) -> bool:
        return self.modes.currentWidget() is self.text_panel

    def _show_mode(self) -> None:
        """The text panel for a text model, the image panel otherwise."""
        text = getattr(self.classifier, "task", "image") == "text"
        self.modes.setCurrentWidget(self.text_panel if text else self.image_panel)
        self.text_panel.set_classifier(
            self.classifier if text else None, self.model_key if text else None
        )
        self.image_panel.set_classifier(None if text else self.classifier)
        if not text:
            self.text_panel.cancel()  # texts queued for a text model that did not load
        self._update_status()

    def _start_next(self) -> None:
        """Classify what waited for the model, in the panel it now shows."""
        if not self.text_mode:
            self.image_panel.start_next()
            return
        paths, self.image_panel.pending = self.image_panel.pending, []  # dropped while loading
        if paths:
            self.text_panel.add_paths(paths)

    def _model_failed(self, message: str, details: str) -> None:
        self._loader = None
        if self.model_key != BUILTIN:  # a bad package: back to the built-in model next time
            self.model_key = self.model_combo.current_key = BUILTIN
            self.model_combo.refresh()
        self._load_error = message
        self.image_panel.pending.clear()
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
        if self.classifier is None:
            self.warm_up()
        self.image_panel.add_paths(paths)

    def paste(self) -> None:
        (self.text_panel if self.text_mode else self.image_panel).paste()

    def cancel(self) -> None:
        self.text_panel.cancel()
        self.image_panel.cancel()

    def _update_status(self) -> None:
        (self.text_panel if self.text_mode else self.image_panel).update_status()

    # -- results ---------------------------------------------------------------
    def export(self, kind: str) -> None:
        if not (self.text_panel.model.rows if self.text_mode else self.model.rows):
            self.status.setText(_("There are no results to export yet."))
            return
        from PySide6.QtWidgets import QFileDialog

        name_filter = _("CSV table") + " (*.csv)" if kind == "csv" else _("JSON file") + " (*.json)"
        path, _selected = QFileDialog.getSaveFileName(
            self, _("Export results"), f"taxon-results.{kind}", name_filter
        )
        if not path:
            return
        self.export_to(path, kind)

    def export_to(self, path: str, kind: str) -> None:
        """Save the shown panel's results (see ``ImagePanel.export_to``,
        ``TextPanel.export_to``)."""
        try:
            (self.text_panel if self.text_mode else self.image_panel).export_to(path, kind)
        except UserError as error:
            show_error(self, error.message, error.details)
            return
        self.status.setText(_("Saved {name}.").format(name=Path(path).name))

    def shutdown(self) -> None:
        """Stop the decode worker processes and free the model (the window is closing)."""
        self.text_panel.shutdown()
        self.image_panel.shutdown()
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
