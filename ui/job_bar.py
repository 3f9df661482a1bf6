"""The strip at the bottom of a page: what is happening, how far along, and Cancel.

``run(worker, on_finished)`` is the one place a page's job is started and ended:
progress goes to the bar, a failure to the status line and an error dialog, a
cancel to "Cancelled.", and the page hears ``running_changed`` to enable or
disable its own buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from engine.core.i18n import _
from ui.errors import show_error
from ui.retranslate import Retranslatable
from ui.worker import JobWorker


class JobBar(Retranslatable, QWidget):
    """Status text, a progress bar and a Cancel button; the bar and button show while running."""

    running_changed = Signal(bool)

    def __init__(
        self, on_cancel: Callable[[], None] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.worker: JobWorker | None = None
        self.status = QLabel()
        self.status.setWordWrap(True)  # a long message must not set the window's width
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(on_cancel or self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.cancel_button)
        self.set_running(False)
        self.retranslate_ui()

    # -- running a page's job ---------------------------------------------------
    def run(
        self, worker: JobWorker, on_finished: Callable[[Any], None], busy_text: str = ""
    ) -> bool:
        """Start ``worker`` unless a job is already running; ``on_finished`` gets its result."""
        if self.worker is not None:
            return False
        self.worker = worker
        worker.progress.connect(self._on_progress)
        worker.finished.connect(lambda result: (self._end(), on_finished(result)))
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        self.status.setText(busy_text)
        self.set_running(True)
        worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _end(self) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.worker = None
        self.set_running(False)

    def _on_progress(self, done: int, total, message: str) -> None:
        self.show_progress(done, total)
        if message:
            self.status.setText(message)

    def _failed(self, message: str, details: str) -> None:
        self._end()
        self.status.setText(message)
        show_error(self, message, details)

    def _cancelled(self) -> None:
        self._end()
        self.status.setText(_("Cancelled."))

    # -- display -------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the job reports a total
        self.running_changed.emit(running)

    def show_progress(self, done: int, total: int | None) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)

    def retranslate_ui(self) -> None:
        self.cancel_button.setText(_("Cancel"))
