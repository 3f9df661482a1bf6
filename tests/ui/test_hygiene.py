"""The suite's own guards work: a leaked QThread fails its test."""

from __future__ import annotations

import threading

import pytest

from tests import conftest
from ui.worker import JobWorker


def test_a_test_that_leaves_a_worker_running_fails(qtbot):
    release = threading.Event()

    def job(progress, cancel):
        while not release.is_set():
            cancel.raise_if_cancelled()
            release.wait(0.01)

    worker = JobWorker(job).start()
    guard = conftest.no_leaked_threads.__wrapped__()
    next(guard)
    with pytest.raises(pytest.fail.Exception, match="QThread"):
        next(guard)
    assert not worker.is_running()
