"""The job contract every long-running engine function follows.

A job is a plain function ``run(inputs..., progress, cancel) -> result``. It
reports ``progress(done, total, message)`` at least every half second and calls
``cancel.raise_if_cancelled()`` just as often. The GUI runs jobs on a QThread
(``ui.worker.JobWorker``) and the CLI runs them with a tqdm bar; the job itself
knows neither.

Errors the user can act on are ``UserError``: a message id marked with ``N_``
plus named parameters, translated when shown, so the same error reads in the
CLI's ``--lang`` or the GUI's current language. Anything else is a bug.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from engine.core.i18n import Message


class Progress(Protocol):
    def __call__(self, done: int, total: int | None, message: str) -> None: ...


def no_progress(done: int, total: int | None, message: str) -> None:
    """A ``Progress`` that ignores reports, for callers that do not show any."""


#: How often a job reports progress, at most (seconds): a bar moves smoothly and a
#: fast loop does not spend its time formatting messages nobody can read.
REPORT_INTERVAL_S = 0.25


class Throttle:
    """Says when the next progress report is due, so a job reports no more often than
    every ``interval_s`` however fast its loop turns.

    ``wait_first`` holds back the first report for one interval (the caller has just
    said where it starts).
    """

    def __init__(self, interval_s: float = REPORT_INTERVAL_S, *, wait_first: bool = False) -> None:
        self.interval_s = interval_s
        self._last = time.monotonic() if wait_first else 0.0

    def due(self, force: bool = False) -> bool:
        """True (and the interval starts again) if ``force`` or an interval has passed."""
        now = time.monotonic()
        if force or now - self._last >= self.interval_s:
            self._last = now
            return True
        return False


class Cancelled(Exception):
    """Raised inside a job when its ``CancelToken`` was set."""


class CancelToken:
    """A thread-safe cancel flag (a ``threading.Event``, never a bare bool)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class UserError(Exception):
    """An error the user can act on, with a translatable message.

    ``message`` is an untranslated message id (mark it with ``N_``) whose
    ``{placeholders}`` are filled from ``params``; ``details`` is extra,
    untranslated text such as the underlying library's error.
    """

    def __init__(self, message: str, details: str = "", **params: Any) -> None:
        super().__init__(message)
        self.msgid = message
        self.details = details
        self.params = params

    @property
    def message(self) -> str:
        """The message in the UI language, numbers in its digits (as the GUI shows it)."""
        return self.as_message().text()

    def as_message(self) -> Message:
        """The same text as a ``Message``, so a UI can translate it again after a switch."""
        return Message(self.msgid, dict(self.params))

    def __str__(self) -> str:
        return self.message


JobFn = Callable[[Progress, CancelToken], Any]
