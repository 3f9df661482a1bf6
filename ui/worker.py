"""The one way the GUI runs an engine job off the UI thread.

``JobWorker(fn)`` wraps a job ``fn(progress, cancel) -> result`` (see
``engine.core.jobs``) in a ``QThread``. Signals arrive on the UI thread:

- ``progress(done, total, message)``, throttled to about 20 per second;
- ``report(obj)`` for partial results the job hands to ``worker.report_fn``;
- exactly one of ``finished(result)``, ``failed(message, details)``,
  ``cancelled()``.

Unexpected exceptions are logged with their traceback; ``failed`` then carries
a translated "something went wrong" message and the log file's path.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from engine.core.i18n import N_, Message
from engine.core.jobs import Cancelled, CancelToken, Progress, UserError
from engine.core.logs import log_file_path

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL_S = 0.05
_running: weakref.WeakSet[JobWorker] = weakref.WeakSet()
_keep_alive: set[JobWorker] = set()


def running_workers() -> list[JobWorker]:
    """Workers whose thread is still running (tests fail when one is left)."""
    return [worker for worker in list(_running) if worker.is_running()]


#: Texts ``failed`` carried, with the message each came from (``ui.errors`` retranslates them).
_said: dict[str, Message] = {}


def said(text: str) -> Message | None:
    """The translatable message behind an error text, so a dialog can follow a switch."""
    return _said.get(text)


def _say(message: Message) -> str:
    text = message.text()
    if len(_said) > 256:
        _said.clear()
    _said[text] = message
    return text


def unexpected_error_text() -> tuple[str, str]:
    message = _say(Message(N_("Something went wrong. The details were written to the log file.")))
    return message, str(log_file_path())


class _Thread(QThread):
    def __init__(self, worker: JobWorker) -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:  # runs on the worker thread
        _yield_to_the_ui()
        self._worker._execute()


_BACKGROUND_NICENESS = 10


def _yield_to_the_ui() -> None:
    """Lower this thread's CPU priority so the UI thread wins a busy machine.

    On Linux, niceness is per thread and inherited by threads and processes it
    starts (ONNX Runtime's pool, decode workers), so the whole job yields.
    Elsewhere ``QThread.LowPriority`` (set at start) does the same.
    """
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, max(current, _BACKGROUND_NICENESS))
        except OSError:
            log.debug("Cannot lower the worker thread's priority", exc_info=True)


class JobWorker(QObject):
    progress = Signal(int, object, str)
    report = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()

    def __init__(
        self,
        fn: Callable[[Progress, CancelToken], Any],
        name: str = "job",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._fn = fn
        self._name = name
        self.cancel_token = CancelToken()
        self._thread: _Thread | None = None
        self._last_progress = 0.0
        self._progress_lock = threading.Lock()

    # -- control, from the UI thread ------------------------------------
    def start(self) -> JobWorker:
        self._thread = _Thread(self)
        self._thread.setObjectName(f"taxon-{self._name}")
        self._thread.finished.connect(self._on_thread_finished)
        _running.add(self)
        _keep_alive.add(self)
        self._thread.start(QThread.Priority.LowPriority)
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        return self._thread is None or self._thread.wait(timeout_ms)

    # -- on the worker thread --------------------------------------------
    def report_fn(self, item: object) -> None:
        """Hand a partial result to the UI (thread-safe)."""
        self.report.emit(item)

    def _progress(self, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        with self._progress_lock:
            final = total is not None and done >= total
            if not final and now - self._last_progress < _PROGRESS_INTERVAL_S:
                return
            self._last_progress = now
        self.progress.emit(done, total, message)

    def _execute(self) -> None:
        try:
            result = self._fn(self._progress, self.cancel_token)
        except Cancelled:
            self.cancelled.emit()
        except UserError as error:
            log.info("%s stopped: %s (%s)", self._name, error.msgid, error.details)
            self.failed.emit(_say(error.as_message()), error.details)
        except Exception:  # a bug: log it whole, show the log's path
            log.exception("Unexpected error in %s", self._name)
            self.failed.emit(*unexpected_error_text())
        else:
            self.finished.emit(result)

    def _on_thread_finished(self) -> None:
        _keep_alive.discard(self)
        if self._thread is not None:
            self._thread.deleteLater()
            self._thread = None
