"""JobWorker runs engine jobs off the UI thread and reports every ending."""

from __future__ import annotations

import threading
import time

from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.core.logs import log_file_path
from ui.worker import JobWorker, running_workers


def test_result_and_progress_arrive_on_the_ui_thread(qtbot):
    main_thread = threading.get_ident()
    seen: list[tuple] = []

    def job(progress, cancel):
        assert threading.get_ident() != main_thread
        for step in range(3):
            progress(step + 1, 3, "step")
            time.sleep(0.06)
        return 42

    worker = JobWorker(job)
    worker.progress.connect(lambda d, t, m: seen.append((d, t, threading.get_ident())))
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [42]
    assert seen[-1][:2] == (3, 3)
    assert all(thread == main_thread for *_, thread in seen)
    qtbot.waitUntil(lambda: not running_workers())


def test_user_error_carries_its_translated_message(qtbot):
    def job(progress, cancel):
        raise UserError(N_("No CUDA GPU is available on this computer."), details="probe")

    worker = JobWorker(job)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["No CUDA GPU is available on this computer.", "probe"]
    worker.wait()


def test_unexpected_error_is_logged_and_points_at_the_log(qtbot):
    def job(progress, cancel):
        raise ZeroDivisionError("boom-unique-marker")

    from engine.core.logs import setup_logging

    setup_logging()
    worker = JobWorker(job)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    message, details = blocker.args
    assert "Something went wrong" in message and details == str(log_file_path())
    worker.wait()
    assert "boom-unique-marker" in log_file_path().read_text(encoding="utf-8")


def test_cancel_stops_a_job_within_its_check_interval(qtbot):
    def job(progress, cancel):
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.02)

    worker = JobWorker(job).start()
    started = time.monotonic()
    with qtbot.waitSignal(worker.cancelled, timeout=10_000):
        worker.cancel()
    # The job checks every 20 ms, so this takes milliseconds; the budget is generous for a
    # loaded shared machine and still catches a cancel that is not heard while the job runs.
    assert time.monotonic() - started < 5.0
    worker.wait()


def test_partial_results_stream_through_report(qtbot):
    holder: dict = {}

    def job(progress, cancel):
        for item in ("a", "b"):
            holder["worker"].report_fn(item)
        return None

    worker = JobWorker(job)
    holder["worker"] = worker
    got: list = []
    worker.report.connect(got.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    qtbot.waitUntil(lambda: got == ["a", "b"])
    worker.wait()
