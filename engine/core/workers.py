"""Worker processes that die with the app: the start method and the decode pool.

Decoding runs in worker processes, for two reasons. A damaged file can crash
a native decoder, and in a worker that costs one file, not the app; and
decoding (not the network) is the bottleneck for camera photos, so it must
overlap with inference. Workers start with "forkserver" (Linux) or "spawn",
never "fork": the GUI has threads, and forking a threaded process can
deadlock. Starting workers costs about a second, so the pool is kept between
calls and closed by ``close()`` (also run at exit). Every helper process Taxon
starts (decoders, the tokenizer, the ONNX exporter) uses ``start_method()`` and
``init_worker`` so it dies with the app, however the app ends.
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
from concurrent.futures import ProcessPoolExecutor

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
                    self.workers, mp_context=context, initializer=init_worker,
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

