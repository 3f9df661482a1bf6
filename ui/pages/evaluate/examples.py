"""The examples behind a number: a gallery of images (or a list of texts) with their verdicts.

Used for a confusion cell's examples and for the misclassified gallery. Entries
appear at once with a placeholder; thumbnails are decoded on a ``JobWorker`` and
filled in as they arrive, so a cell with hundreds of photos never blocks the UI.
Each entry says the true and the predicted label and the model's confidence,
and offers "Correct label…" (the page decides what correcting means).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from engine.models.evaluation import Evaluation
from ui.retranslate import Retranslatable
from ui.widgets.thumbnails import thumbnail_bytes
from ui.worker import JobWorker

THUMB = 96
#: Entries shown at most; the heading says how many there are in all.
MAX_SHOWN = 200
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1
TEXT_CHARS = 240


def _placeholder() -> QIcon:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#d8dde5"))
    return QIcon(pixmap)


class ExamplesPanel(Retranslatable, QWidget):
    """A heading, the examples, and a "Correct label…" button for the selected one."""

    correct_requested = Signal(int)  # an index into the evaluation's items

    def __init__(
        self,
        object_name: str,
        parent: QWidget | None = None,
        empty_hint: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.evaluation: Evaluation | None = None
        self.task = "image"
        self.indices: list[int] = []
        self.corrections: dict[int, str] = {}
        self._heading: Callable[[], str] = lambda: ""
        self._empty_hint = empty_hint
        self._job: JobWorker | None = None
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-weight: 600;")
        self.list = QListWidget()
        self.list.setObjectName(object_name + "List")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemDoubleClicked.connect(lambda _item: self.request_correction())
        self.list.currentItemChanged.connect(lambda *_: self._update_button())
        self.correct_button = QPushButton()
        self.correct_button.clicked.connect(self.request_correction)
        self.hint = QLabel()  # shown instead of an empty list: what to do to fill it
        self.hint.setObjectName(object_name + "Hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: palette(placeholder-text); padding: 12px;")
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.correct_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint, 1)
        self._update_button()
        self.retranslate_ui()

    # -- content -------------------------------------------------------------------
    def show_examples(
        self,
        evaluation: Evaluation | None,
        indices: list[int],
        task: str,
        heading: Callable[[], str],
    ) -> None:
        """Show ``indices`` of ``evaluation``; ``heading`` gives the (translated) title."""
        self.stop()
        self.evaluation, self.task, self._heading = evaluation, task, heading
        self.indices = list(indices)
        self.list.clear()
        is_image = task == "image"
        self.list.setViewMode(
            QListWidget.ViewMode.IconMode if is_image else QListWidget.ViewMode.ListMode
        )
        self.list.setGridSize(QSize(THUMB + 70, THUMB + 78) if is_image else QSize())
        self.list.setIconSize(QSize(THUMB, THUMB) if is_image else QSize())
        placeholder = _placeholder()
        for index in self.indices[:MAX_SHOWN]:
            item = QListWidgetItem(placeholder, "") if is_image else QListWidgetItem("")
            item.setData(INDEX_ROLE, index)
            if is_image:
                item.setToolTip(evaluation.items[index])
            self.list.addItem(item)
        self.retranslate_ui()
        if self.list.count():
            self.list.setCurrentRow(0)
        if is_image and self.list.count():
            self._load_thumbnails([evaluation.items[i] for i in self.indices[:MAX_SHOWN]])

    def clear(self) -> None:
        self.show_examples(None, [], self.task, lambda: "")

    def mark_corrected(self, index: int, label: str) -> None:
        self.corrections[index] = label
        self.retranslate_ui()

    def selected_index(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(INDEX_ROLE))

    def request_correction(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.correct_requested.emit(index)

    def _update_button(self) -> None:
        self.correct_button.setEnabled(self.list.currentItem() is not None)

    def _context_menu(self, position) -> None:
        item = self.list.itemAt(position)
        if item is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction(_("Correct label…"), self.request_correction)
        menu.popup(self.list.viewport().mapToGlobal(position))

    # -- thumbnails ------------------------------------------------------------------
    def _load_thumbnails(self, paths: list[str]) -> None:
        def job(progress, cancel):
            for done, path in enumerate(paths):
                cancel.raise_if_cancelled()
                progress(done, len(paths), "")
                worker.report_fn((done, thumbnail_bytes(path, THUMB, enlarge_tiny=True)))
            return len(paths)

        worker = JobWorker(job, name="example-thumbnails")
        worker.report.connect(lambda payload: self._thumbnail_ready(worker, payload))
        worker.finished.connect(lambda _result: self._job_done(worker))
        worker.cancelled.connect(lambda: self._job_done(worker))
        worker.failed.connect(lambda *_: self._job_done(worker))
        self._job = worker
        worker.start()

    def _thumbnail_ready(self, worker: JobWorker, payload) -> None:
        if worker is not self._job:  # a newer selection replaced this one
            return
        position, data = payload
        item = self.list.item(position)
        if item is None or not data:
            return
        pixmap = QPixmap()
        if pixmap.loadFromData(data):
            item.setIcon(QIcon(pixmap))

    def _job_done(self, worker: JobWorker) -> None:
        worker.wait()
        if worker is self._job:
            self._job = None

    @property
    def loading(self) -> bool:
        return self._job is not None

    def stop(self) -> None:
        """Cancel a thumbnail job still running (a new selection, or the page closing)."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait()
            self._job = None

    # -- text --------------------------------------------------------------------------
    def caption(self, index: int) -> str:
        evaluation = self.evaluation
        true = evaluation.labels[evaluation.y_true[index]]
        predicted = evaluation.labels[evaluation.y_pred[index]]
        confidence = i18n.format_percent(float(evaluation.confidence[index]), 0)
        if self.task == "image":
            name = "\u2068" + Path(evaluation.items[index]).name + "\u2069"
        else:
            text = evaluation.items[index]
            name = (
                "\u2068" + (text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…") + "\u2069"
            )
        lines = [
            name,
            _("True: {true}").format(true=true),
            _("Predicted: {predicted} ({confidence})").format(
                predicted=predicted, confidence=confidence
            ),
        ]
        if index in self.corrections:
            lines.append(_("Corrected to {label}").format(label=self.corrections[index]))
        return "\n".join(lines) if self.task == "image" else " · ".join(lines)

    def _show_hint(self) -> None:
        """Nothing to list yet: the hint in place of a blank list and a useless button."""
        waiting = self.evaluation is not None and not self.indices and not self._heading()
        hint = self._empty_hint() if self._empty_hint is not None and waiting else ""
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.list.setVisible(not hint)
        self.correct_button.setVisible(not hint)

    def retranslate_ui(self) -> None:
        self._show_hint()
        self.correct_button.setText(_("Correct label…"))
        self.correct_button.setToolTip(
            _(
                "Give the selected example its right label in the "
                "dataset; the next training uses it."
            )
        )
        self.heading.setText(self._heading())
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setText(self.caption(int(item.data(INDEX_ROLE))))
