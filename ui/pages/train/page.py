"""The Train page: pick a mode, press Train, watch the charts, pause, cancel, resume.

The run is one engine job (``engine.training.train``) on a ``JobWorker``; its
events come back through the worker's ``report`` signal and feed the charts and
the status line (epoch, speed, time left, GPU memory). Cancel stops at the next
step (a forward pass checks too) and keeps the last epoch's checkpoint: pressing
Train again with the same data and settings continues from there. The finished
model is added to the project and offered to the Evaluate and Classify pages.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import Message, _
from engine.training.config import TrainControls
from ui.errors import show_error
from ui.flow_layout import FlowLayout
from ui.page import Page
from ui.pages.train import texts
from ui.pages.train.charts import TrainingCharts
from ui.pages.train.form import TrainForm
from ui.scroll import VerticalScrollArea
from ui.worker import JobWorker


def _slug(name: str) -> str:
    cleaned = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "-", name).strip(" .-")
    return cleaned[:80] or "model"


def unique_folder(parent: Path, name: str) -> Path:
    folder, counter = parent / _slug(name), 2
    while folder.exists():
        folder = parent / f"{_slug(name)}-{counter}"
        counter += 1
    return folder


class TrainPage(Page):
    page_id = "trainPage"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.controls = TrainControls()
        self.worker: JobWorker | None = None
        self.device = None  # the DeviceInfo of the running job, described in the UI language
        self.last_result = None
        self.last_event = None
        self.preview = None
        self.status_message: Message | None = None  # the job bar's text, re-translated on a switch
        self.note_messages: list[Message] = []

        self.dataset_label = QLabel()
        self.dataset_label.setObjectName("trainDataset")
        self.dataset_label.setWordWrap(True)
        self.form = TrainForm()
        self.form.preview_requested.connect(self.show_preview)
        self.train_button = QPushButton()
        self.train_button.setObjectName("trainButton")
        self.train_button.clicked.connect(self.start)
        self.pause_button = QPushButton()
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.clicked.connect(self.toggle_pause)
        buttons = FlowLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.pause_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.dataset_label)
        left_layout.addWidget(self.form)
        left_layout.addLayout(buttons)
        scroll = VerticalScrollArea(left)  # up and down only: the form never scrolls sideways

        self.charts = TrainingCharts()
        self.status = QLabel()
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)
        self.result_label = QLabel()
        self.result_label.setObjectName("trainResult")
        self.result_label.setWordWrap(True)
        self.notes = QListWidget()
        self.notes.setObjectName("trainNotes")
        self.notes.setMaximumHeight(90)
        self.notes.setWordWrap(True)
        self.evaluate_button = QPushButton()
        self.evaluate_button.clicked.connect(self.open_evaluation)
        self.classify_button = QPushButton()
        self.classify_button.clicked.connect(self.open_classify)
        self.folder_button = QPushButton()
        self.folder_button.setObjectName("trainShowFolder")
        self.folder_button.clicked.connect(self.show_folder)
        after = FlowLayout()  # below the charts; wraps in narrow windows and long languages
        after.addWidget(self.folder_button)
        after.addWidget(self.evaluate_button)
        after.addWidget(self.classify_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.charts, 1)
        right_layout.addWidget(self.status)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.job_bar = self.bar
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.result_label)
        layout.addLayout(after)
        layout.addWidget(self.notes)
        layout.addWidget(self.job_bar)

        self.session.dataset_changed.connect(self._dataset_changed)
        self.session.plan_changed.connect(self._dataset_changed)
        self.job_running_changed(False)
        self.retranslate_ui()

    # -- the run --------------------------------------------------------------------
    def output_folder(self, name: str) -> Path:
        from engine.core.paths import user_data_dir

        project = self.session.project
        parent = project.folder / "models" if project is not None else user_data_dir() / "models"
        return unique_folder(parent, name)

    def default_name(self) -> str:
        """The dataset's name and the time, unique among the library's models (two runs in
        the same minute get "… (2)"), so every chooser tells them apart.

        The time stamp is the same year-month-day order in every language (it sorts, and it
        is a valid folder name everywhere), in the UI language's digits: an Arabic user gets
        "٢٠٢٦-١٢-٠٦ ١٤.٠٣", like every other number Taxon writes for them. Once made, the
        name is the user's text: it never changes with the language (like a typed name), and
        the dataset's own name is kept as it is written.
        """
        from engine.models.library import ModelLibrary

        dataset = self.session.current
        base = dataset.name if dataset is not None else _("Model")
        stamp = i18n.localize_digits(f"{datetime.now():%Y-%m-%d %H.%M}")
        return ModelLibrary().unique_name(f"{base} {stamp}")

    def start(self) -> None:
        dataset = self.session.current
        if dataset is None or self.worker is not None:
            return
        config = self.form.config()
        name = self.form.name_edit.text().strip() or self.default_name()
        out = self.output_folder(name)
        self.controls = controls = TrainControls()
        self.charts.clear()
        self.notes.clear()
        self.notes.hide()
        self.note_messages = []
        self.last_event = None
        self.result_label.clear()
        self.last_result = None

        def job(progress, cancel):
            from engine.core.devices import select_device
            from engine.training import train

            worker.report_fn(select_device(config.device))
            return train(
                dataset,
                out,
                config,
                progress,
                cancel,
                controls=controls,
                on_event=worker.report_fn,
                name=name,
            )

        worker = JobWorker(job, "train", self)
        worker.report.connect(self._on_report)
        self.worker = worker
        self.status_message = Message(texts.MSG_PREPARING)
        self.job_bar.run(worker, self._finished, self.status_message.text())
        worker.progress.connect(self._on_progress)  # after the job bar's: may correct its text
        worker.failed.connect(self._ended)
        worker.cancelled.connect(self._cancelled)

    def cancel(self) -> None:
        if self.worker is not None:
            self.controls.resume()  # a paused run must wake up to stop
            self.worker.cancel()

    def toggle_pause(self) -> None:
        if self.controls.paused:
            self.controls.resume()
        else:
            self.controls.pause()
        self._retranslate_pause()
        self._show_status()

    def _finished(self, result) -> None:
        self.worker = None
        self.last_result = result
        epochs = self.last_event.epochs if self.last_event is not None else len(result.history)
        self.status_message = Message(
            texts.MSG_FINISHED,
            {"epoch": len(result.history), "epochs": max(epochs, len(result.history))},
        )
        self._show_job_status()
        self.charts.set_history(result.history)
        from engine.models.library import TRAINED, register

        register(result.package, origin=TRAINED)  # before add_model: its signal refreshes lists
        self.session.add_model(result.package)
        self._show_result()
        for button in (self.evaluate_button, self.classify_button, self.folder_button):
            button.setEnabled(True)

    def _ended(self, *_args) -> None:
        self.worker = None
        self.status_message = None  # the job bar shows the error as it was raised

    def _cancelled(self) -> None:
        self.worker = None
        self.status_message = Message(texts.MSG_CANCELLED)
        self._show_job_status()

    def _on_progress(self, _done, _total, text: str) -> None:
        """A progress text the page cannot translate again (feature extraction...) wins."""
        message = self.status_message
        if text and message is not None and text != message.text():
            self.status_message = None

    def _show_job_status(self) -> None:
        if self.status_message is not None:
            self.job_bar.status.setText(self.status_message.text())

    def _show_notes(self) -> None:
        self.notes.clear()
        for message in self.note_messages:
            self.notes.addItem(message.text())
        self.notes.setVisible(bool(self.note_messages))  # no empty box before the first note
        self.notes.scrollToBottom()

    # -- events from the run ----------------------------------------------------------
    def _on_report(self, event) -> None:
        from engine.core.devices import DeviceInfo

        if isinstance(event, DeviceInfo):
            self.device = event
        elif event.kind == "step" and event.loss is not None:
            self.charts.add_step(event.epoch - 1 + event.step / max(1, event.steps), event.loss)
            self._set_epoch_status(event)
        elif event.kind == "epoch":
            self.charts.add_epoch(event.epoch, event.val_loss, event.accuracy, event.val_accuracy)
            if self.form.mode == "instant":
                self._set_epoch_status(event, instant=True)
        elif event.kind == "status" and event.note is not None:
            self.status_message = event.note
            self._show_job_status()
        elif event.kind == "note" and event.note is not None:
            self.note_messages.append(event.note)
            self.notes.addItem(event.note.text())
            self.notes.setVisible(True)
            self.notes.scrollToBottom()
        if getattr(event, "kind", "") in ("step", "epoch"):
            self.last_event = event
        self._show_status()

    def _set_epoch_status(self, event, instant: bool = False) -> None:
        from engine.training.loop import MSG_EPOCH  # loaded by the run already
        from engine.training.text import MSG_INSTANT

        self.status_message = Message(
            MSG_INSTANT if instant else MSG_EPOCH, {"epoch": event.epoch, "epochs": event.epochs}
        )
        self._show_job_status()

    def _show_status(self) -> None:
        self.status.setText(
            texts.run_status(
                self.device,
                self.last_event,
                self.worker is not None,
                self.controls.paused,
                self.form.task,
            )
        )

    def _show_result(self) -> None:
        result = self.last_result
        if result is not None:
            self.result_label.setText(texts.result_text(result))
            self.result_label.setToolTip(str(result.package))

    # -- other pages ------------------------------------------------------------------
    def open_evaluation(self) -> None:
        if self.last_result is not None:
            self.use_model_on("evaluatePage", str(self.last_result.package))

    def show_folder(self) -> None:
        """Open the finished model's folder in the file manager."""
        from ui.pages.models.actions import show_in_folder

        if self.last_result is not None:
            show_in_folder(self.last_result.package)

    def open_classify(self) -> None:
        if self.last_result is not None:
            self.use_model_on("classifyPage", str(self.last_result.package))

    def show_preview(self) -> None:
        from ui.pages.train.preview import AugmentationPreview

        dataset = self.session.current
        if dataset is None or dataset.task != "image" or dataset.frame.empty:
            show_error(self, _("Open an image dataset on the Data page first."))
            return
        self.preview = AugmentationPreview(
            str(dataset.frame["item"].iloc[0]), self.form.config(), self
        )
        self.preview.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.preview.open()

    # -- state --------------------------------------------------------------------------
    def _dataset_changed(self) -> None:
        self.job_running_changed(self.worker is not None)
        self._retranslate_dataset()

    def job_running_changed(self, running: bool) -> None:
        dataset = self.session.current
        usable = dataset is not None
        if dataset is not None:
            self.form.set_task(dataset.task)
        self.train_button.setEnabled(usable and not running)
        self.form.setEnabled(not running)
        self.pause_button.setEnabled(running)
        if not running:
            self.controls.resume()
        for button in (self.evaluate_button, self.classify_button, self.folder_button):
            button.setEnabled(self.last_result is not None and not running)
        self._retranslate_pause()

    def _retranslate_pause(self) -> None:
        self.pause_button.setText(_("Resume") if self.controls.paused else _("Pause"))

    def _retranslate_dataset(self) -> None:
        self.dataset_label.setText(texts.dataset_text(self.session.current))

    def retranslate_ui(self) -> None:
        self._show_job_status()  # the bar's text came from the job: translate it again
        self._show_notes()
        self.train_button.setText(_("Train"))
        self.evaluate_button.setText(_("Evaluate this model"))
        self.classify_button.setText(_("Use in Classify"))
        self.folder_button.setText(_("Show in folder"))
        self._retranslate_pause()
        self._retranslate_dataset()
        self._show_status()
        self._show_result()

    def shutdown(self) -> None:
        self.cancel()
        if self.worker is not None:
            self.worker.wait(30_000)
