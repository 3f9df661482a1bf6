"""Worker processes that die with the app: the start method and the decode pool.

Decoding runs in worker processes, for two reasons. A damaged file can crash
a native decoder, and in a worker that costs one file, not the app; and
decoding (not the network) is the bottleneck for camera photos, so it must
overlap with inference. Workers start with "forkserver" (Linux) or "spawn",
never "fork": the GUI has threads, and forking a threaded process can
deadlock. Starting workers costs about a second, so the pool is kept between
calls and closed by ``close()`` (also run at exit). Every helper process Taxon
starts (decoders, the tokenizer, the ONNX exporter) uses ``start_method()`` and
``init_worker`` so it dies with the app, however the app ends. ``bounded_map``
feeds such a pool a bounded number of tasks at a time and survives a worker
that crashes.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from engine.core.jobs import CancelToken

log = logging.getLogger(__name__)


#: Decode processes. Decoding a camera JPEG costs ~4x the CPU of the network,
#: so on 2 cores two workers beside a 2-thread ONNX Runtime session (idle
#: threads not spinning) were fastest: 29 img/s against 26 (1 thread) and 18
#: (one worker); see docs/performance.md. More workers than cores only adds RAM.
DEFAULT_DECODE_WORKERS = max(1, min(8, os.cpu_count() or 1))


def start_method() -> str:
    """forkserver on Linux (fast restarts, thread-safe), spawn elsewhere and when frozen."""
    methods = multiprocessing.get_all_start_methods()
    if (
        sys.platform.startswith("linux")
        and "forkserver" in methods
        and not getattr(sys, "frozen", False)
    ):
        return "forkserver"
    return "spawn"


#: How often a worker checks that the app is still there (seconds).
PARENT_POLL_S = 1.0
_PR_SET_PDEATHSIG = 1


def init_worker(app_pid: int | None = None, start_method: str = "") -> None:
    """Make a fresh decode worker quiet and mortal.

    Ctrl+C is left to the parent, which cancels the job cleanly. The worker
    dies with the app: when the app is killed (SIGKILL, a crash, SIGTERM
    in the GUI) nothing else would stop the worker, the forkserver and the
    resource tracker, which then lingered for minutes. Decoder warnings go to
    the log file, not to the terminal.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if start_method == "forkserver":
        _die_with_forkserver()
    if app_pid is not None:
        _start_parent_watchdog(app_pid)
    _quiet_decoders()


def _die_with_forkserver() -> None:
    """Linux: SIGKILL this worker as soon as its parent, the forkserver, exits.

    Only for forkserver children: the parent-death signal fires when the
    *thread* that forked exits, which for spawn is some executor thread.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl (musl quirks, sandboxes): the watchdog stays
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable", exc_info=True)


def _start_parent_watchdog(app_pid: int) -> None:
    """A daemon thread that ends the worker once the app process is gone (every OS)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent or not _process_exists(app_pid):
                os._exit(0)

    threading.Thread(target=watch, name="taxon-parent-watchdog", daemon=True).start()


def _process_exists(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone on Linux)."""
    if sys.platform == "win32":
        return _windows_process_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists


def _windows_process_exists(pid: int) -> bool:
    import ctypes

    synchronize, wait_timeout = 0x00100000, 0x00000102
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return kernel32.WaitForSingleObject(handle, 0) == wait_timeout
    finally:
        kernel32.CloseHandle(handle)


def _quiet_decoders() -> None:
    """Send Python warnings and native decoders' stderr (libtiff) to the log file.

    A folder of odd images otherwise prints hundreds of "Warning" lines over
    the progress bar. fd 2 is pointed at the log file itself, so a decoder's
    message, or a worker's crash report, stays readable for support.
    """
    from engine.core.logs import redirect_stderr_to_log, setup_logging

    try:
        setup_logging(rotate=False)
        redirect_stderr_to_log()
    except OSError:  # no writable log folder: keep the terminal rather than fail
        log.debug("Cannot route worker output to the log", exc_info=True)


class DecodePool:
    """A lazily started, reusable pool of image decode processes."""

    def __init__(self, workers: int = DEFAULT_DECODE_WORKERS) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._executor is not None

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                method = start_method()
                context = multiprocessing.get_context(method)
                if method == "forkserver":
                    context.set_forkserver_preload(["engine.data.images", "engine.core.workers"])
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=init_worker,
                    initargs=(os.getpid(), method),
                )
            return self._executor

    def discard(self, broken: ProcessPoolExecutor | None = None) -> None:
        """Drop the pool without waiting (after a crash or a cancel); the next call starts anew.

        With ``broken``, only that executor is dropped, so a job cannot throw
        away a fresh pool that another job already started.
        """
        with self._lock:
            executor = self._executor
            if broken is not None and broken is not executor:
                return
            self._executor = None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers and wait for them."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_default_pool = DecodePool()
atexit.register(_default_pool.close)


def shared_pool() -> DecodePool:
    """The app's decode pool, kept between jobs."""
    return _default_pool


def warm_up_decoders() -> None:
    """Start the decode workers now (the GUI does it while it shows "loading the model").

    Starting them forks a big process, which holds Python's lock for a moment:
    better during the loading state than when the user drops the first photos.
    """
    executor = _default_pool.executor()
    futures = [executor.submit(os.getpid) for _ in range(_default_pool.workers)]
    for future in futures:
        future.result()


def close() -> None:
    """Shut down the shared decode workers (the app calls this on quit)."""
    _default_pool.close()


K = TypeVar("K")
A = TypeVar("A")
R = TypeVar("R")

#: How often ``bounded_map`` checks for a cancel and lets its caller report (seconds).
POLL_S = 0.2
#: Lone crashes, before any task succeeded, that mean the workers cannot even start.
_DEAD_ON_START = 3
_END = object()  # the feed ran out


def _alone(task: tuple[K, A]) -> list[tuple[K, A]]:
    return [task]


def bounded_map(
    pool: DecodePool,
    work: Callable[[A], R],
    tasks: Iterable[tuple[K, A]],
    *,
    in_flight: int,
    cancel: CancelToken,
    on_done: Callable[[tuple[K, A], R], None],
    on_crash: Callable[[tuple[K, A]], None],
    on_error: Callable[[tuple[K, A], Exception], None] | None = None,
    split: Callable[[tuple[K, A]], list[tuple[K, A]]] = _alone,
    held: Callable[[], int] = lambda: 0,
    on_round: Callable[[int, bool], None] | None = None,
) -> None:
    """``work(argument)`` in ``pool``'s worker processes for each ``(key, argument)`` task.

    One copy of what the classify job and the data checks both need: a native decoder
    that crashes on a hostile file must cost that file, not the job. ``tasks`` is read
    lazily, only while fewer than ``in_flight`` tasks are submitted or ``held()`` by the
    caller (decoded images waiting for the model), so memory stays bounded whatever the
    folder size. ``work`` must be a picklable top-level function; the key (an input's
    index) stays in this process and comes back with the task.

    ``on_done(task, result)`` hears of each task as it finishes (completion order);
    ``on_error(task, error)`` of one whose ``work`` raised (without it, the error ends
    the map). When a worker dies, every task in flight fails and nobody knows which one
    did it: the pool is discarded and those tasks, cut by ``split`` into single files,
    are retried one at a time in a fresh pool, so only a task that crashes on its own
    gets ``on_crash(task)``. ``on_round(in_flight, idle)`` runs at least every
    ``POLL_S``, with the tasks in flight and whether the last wait finished none: the
    caller reports progress and runs its batches there. ``cancel`` is checked as often;
    on any exception the tasks not started are cancelled and, if some are running, the
    pool is discarded rather than waited for.
    """
    feed = iter(tasks)
    retry: deque[tuple[K, A]] = deque()  # taken back from a pool that went away
    suspects: deque[tuple[K, A]] = deque()  # in flight when a worker died
    pending: dict[Future, tuple[int, tuple[K, A]]] = {}  # by submission number
    submitted, exhausted, worked_any, lone_crashes, idle = 0, False, False, 0, False
    executor: ProcessPoolExecutor | None = None

    def source() -> deque[tuple[K, A]] | None:
        """The queue holding the next task (pulled from the feed if need be)."""
        nonlocal exhausted
        if not retry and not exhausted:
            task: Any = next(feed, _END)
            if task is _END:
                exhausted = True
            else:
                retry.append(task)
        return retry or None

    def submit(queue: deque[tuple[K, A]]) -> bool:
        nonlocal executor, submitted
        task = queue.popleft()
        executor = pool.executor()
        try:
            pending[executor.submit(work, task[1])] = (submitted, task)
        except BrokenProcessPool:  # a worker died between two tasks
            queue.appendleft(task)
            pool.discard(executor)
            return False
        submitted += 1
        return True

    try:
        while True:
            cancel.raise_if_cancelled()
            if on_round is not None:
                on_round(len(pending), idle)
            if suspects:
                if not pending:
                    submit(suspects)
            else:
                while len(pending) + held() < in_flight:
                    queue = source()
                    if queue is None or not submit(queue):
                        break
            if not pending:
                if exhausted and not retry and not suspects:
                    return
                continue
            finished, _unused = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            idle = not finished
            crashed: list[tuple[int, tuple[K, A]]] = []
            for future in finished:
                number, task = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    crashed.append((number, task))
                    continue
                except CancelledError:  # another job discarded the shared pool
                    retry.appendleft(task)
                    continue
                except Exception as error:
                    if on_error is None:
                        raise
                    on_error(task, error)
                    continue
                worked_any = True
                on_done(task, result)
            if crashed:
                crashed.extend(pending.values())  # the rest of the pool's tasks are doomed too
                pending.clear()
                pool.discard(executor)
                crashed.sort(key=lambda entry: entry[0])
                pieces = [piece for _number, task in crashed for piece in split(task)]
                if len(pieces) > 1:
                    suspects.extend(pieces)
                    continue
                on_crash(pieces[0])
                lone_crashes += 1
                if lone_crashes >= _DEAD_ON_START and not worked_any:
                    raise RuntimeError("worker processes die on start; see the log")
    except BaseException:
        running = [future for future in pending if not future.cancel() and not future.done()]
        if running:
            pool.discard(executor)  # don't wait for work already under way
        raise
