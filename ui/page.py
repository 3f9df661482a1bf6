"""What every page of the main window shares: its job bar, its status text, and how it
asks for another page.

A page runs its jobs through the ``JobBar`` at its bottom (``self.bar``), so progress,
Cancel, failures and "Cancelled." look and behave the same everywhere, and the page
hears ``job_running_changed`` to enable or disable its own buttons. A page never
reaches into the window: it emits ``navigate`` (show that page) or
``model_requested`` (show that page with this model on it), and the window, which
builds the pages, connects both. That keeps each page testable on its own and lets
the window build pages lazily in any order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from engine.core.jobs import CancelToken, Progress
from ui.job_bar import JobBar
from ui.retranslate import Retranslatable
from ui.worker import JobWorker


class Page(Retranslatable, QWidget):
    """A main-window page with a job bar; subclasses set ``page_id`` and lay out ``self.bar``."""

    #: The page's id in the navigation and its object name (``"healthPage"``).
    page_id = ""
    #: Show the page with this id.
    navigate = Signal(str)
    #: Show the page with this id (first argument) with this model (a package path) on it;
    #: the window calls that page's ``use_model(path)``.
    model_requested = Signal(str, str)

    def __init__(self, window) -> None:
        super().__init__()
        self.setObjectName(self.page_id)
        self.session = window.session
        #: The pages the window has (ids), so a page offers only ways that lead somewhere.
        self.page_ids: tuple[str, ...] = tuple(window.page_ids())
        self._status: Callable[[], str] | None = None
        self.bar = JobBar(self.cancel)
        self.bar.running_changed.connect(self.job_running_changed)
        #: The bar's parts, named as the tests and shortcuts reach them.
        self.status, self.progress, self.cancel_button = (
            self.bar.status,
            self.bar.progress,
            self.bar.cancel_button,
        )

    # -- jobs ----------------------------------------------------------------------
    @property
    def job(self) -> JobWorker | None:
        """The job running on this page's bar, if any."""
        return self.bar.worker

    def run_job(
        self,
        name: str,
        job: Callable[[Progress, CancelToken], Any],
        on_finished: Callable[[Any], None],
        busy_text: str,
    ) -> bool:
        """Run ``job`` on a worker through the bar unless one is running; ``on_finished``
        gets its result on the UI thread."""
        return self.bar.run(JobWorker(job, name=name), on_finished, busy_text)

    def cancel(self) -> None:
        """Stop the running job (the bar's Cancel, Esc); a page with more to stop overrides it."""
        self.bar.cancel()

    def job_running_changed(self, running: bool) -> None:
        """A job started or ended: enable or disable the page's own buttons (overridden)."""

    # -- status ----------------------------------------------------------------------
    def set_status(self, text: Callable[[], str] | None) -> None:
        """Status text as a function, so it follows a language switch."""
        self._status = text
        self.bar.status.setText(text() if text else "")

    def retranslate_status(self) -> None:
        """The text of ``set_status`` in the new language; a running job's text stays."""
        if self._status is not None and self.bar.worker is None:
            self.bar.status.setText(self._status())

    # -- other pages --------------------------------------------------------------------
    def can_show(self, page_id: str) -> bool:
        return page_id in self.page_ids

    def show_page(self, page_id: str) -> None:
        self.navigate.emit(page_id)

    def use_model_on(self, page_id: str, path: str) -> None:
        """Show the page ``page_id`` with the model package at ``path`` on it."""
        self.model_requested.emit(page_id, path)
