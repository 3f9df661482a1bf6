"""Classifying images: the ``Classifier`` interface and the ``classify_images`` job.

Every model plugs in as a ``Classifier``: the built-in ImageNet model now,
trained model packages later. A classifier only maps a batch of preprocessed
pixels to probabilities; decoding, batching, progress, cancellation and error
reporting live in ``classify_images`` so every model gets them alike.

Decoding runs in worker processes, for two reasons. A damaged file can crash
a native decoder, and in a worker that costs one file, not the app; and
decoding (not the network) is the bottleneck for camera photos, so it must
overlap with inference. Workers start with "forkserver" (Linux) or "spawn",
never "fork": the GUI has threads, and forking a threaded process can
deadlock. Starting workers costs about a second, so the pool is kept between
calls and closed by ``close()`` (also run at exit). A single image is decoded
in-process instead: its latency matters more than isolation.
"""

from __future__ import annotations

import atexit
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.i18n import N_, Message, _
from engine.images import DecodedImage, decode_for_model
from engine.jobs import CancelToken, Progress, UserError, no_progress

log = logging.getLogger(__name__)

MSG_FINDING = N_("Looking for images…")
MSG_CLASSIFYING = N_("Classifying images…")
MSG_DECODER_CRASHED = N_("The image decoder crashed while reading {name}.")
MSG_UNEXPECTED = N_("{name} could not be classified because of an unexpected error.")

#: Decode processes. Decoding a camera JPEG costs ~4x the CPU of the network,
#: so on 2 cores two workers beside a 2-thread ONNX Runtime session (idle
#: threads not spinning) were fastest: 29 img/s against 26 (1 thread) and 18
#: (one worker); see docs/performance.md. More workers than cores only adds RAM.
DEFAULT_DECODE_WORKERS = max(1, min(8, os.cpu_count() or 1))
#: Progress and cancellation are checked at least this often (seconds).
POLL_INTERVAL_S = 0.2
_REPORT_INTERVAL_S = 0.25


@dataclass
class Prediction:
    label: str
    score: float


@dataclass
class ItemResult:
    """One input's outcome: predictions, or an error.

    ``error`` is the message translated when the result was made (for the CLI's
    output); ``error_message`` lets the GUI translate it again after a switch.
    """

    input: str
    predictions: list[Prediction] = field(default_factory=list)
    error: str | None = None
    thumbnail_jpeg: bytes | None = None
    width: int | None = None
    height: int | None = None
    error_message: Message | None = None

    @classmethod
    def failed(cls, path: str, message: Message) -> ItemResult:
        return cls(path, error=message.text(), error_message=message)

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON shape: predictions or error, never both."""
        if self.error is not None:
            return {"input": self.input, "error": self.error}
        return {
            "input": self.input,
            "predictions": [{"label": p.label, "score": p.score} for p in self.predictions],
        }


@dataclass(frozen=True)
class PreprocessConfig:
    """How a file becomes model input (resize shorter side, centre crop, normalise)."""

    size: int = 224
    resize_shorter: int = 256
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        return cls(
            size=int(data["size"]),
            resize_shorter=int(data["resize_shorter"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class Classifier(ABC):
    """A model that turns uint8 RGB pixels into class probabilities."""

    name: str
    labels: list[str]
    task: str = "image"
    preprocess: PreprocessConfig = PreprocessConfig()
    backend: str = "unknown"
    #: Images per forward pass; small enough that a batch ends well within a second.
    batch_size: int = 16

    @abstractmethod
    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> (N, len(labels)) probabilities."""

    def top_k(self, probabilities: np.ndarray, k: int) -> list[list[Prediction]]:
        """The k most likely labels of each row, best first."""
        k = max(1, min(k, probabilities.shape[1]))
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [Prediction(self.labels[i], float(row[i])) for i in indices]
            for row, indices in zip(probabilities, order, strict=True)
        ]

    def close(self) -> None:
        """Release the model's resources (sessions, GPU memory); subclasses extend it."""
        self.closed = True


def load_builtin_classifier(
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> Classifier:
    """The built-in ImageNet classifier (see ``engine.backbones.efficientnet_lite0``).

    ``backend`` is "auto" (ONNX Runtime, else PyTorch), "onnx" or "torch";
    without it ``TAXON_INFERENCE_BACKEND`` decides. The first call exports and
    caches the ONNX model (a few seconds); later ones load in ~0.1 s.
    """
    from engine.backbones.efficientnet_lite0 import load_classifier as load_lite0

    return load_lite0(progress, cancel, backend)


def load_classifier(
    model: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> Classifier:
    """The built-in model (``model`` None) or a trained model package, validated first.

    Image packages take the same ONNX Runtime path as the built-in model.
    """
    if model is None:
        return load_builtin_classifier(progress, cancel, backend)
    from engine.modelpack import load_package

    package = load_package(model)
    if package.task == "image":
        from engine.backbones.trained_image import load_package_classifier

        return load_package_classifier(package, progress, cancel, backend)
    from engine.text_models import load_text_classifier

    return load_text_classifier(package, progress, cancel)


# --------------------------------------------------------------------------- decode pool


def _start_method() -> str:
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


def _init_worker(app_pid: int | None = None, start_method: str = "") -> None:
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
    from engine.logs import redirect_stderr_to_log, setup_logging

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
                method = _start_method()
                context = multiprocessing.get_context(method)
                if method == "forkserver":
                    context.set_forkserver_preload(["engine.images", "engine.inference"])
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_init_worker,
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


def __getattr__(name: str) -> Any:
    """``BuiltinImageNetClassifier`` lives with its backbone; importing it stays lazy."""
    if name == "BuiltinImageNetClassifier":
        from engine.backbones.efficientnet_lite0 import BuiltinImageNetClassifier

        return BuiltinImageNetClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- the job


class _Tracker:
    """Collects results in input order, streams them, and throttles progress reports."""

    def __init__(self, total: int, progress: Progress, on_result) -> None:
        self.results: list[ItemResult | None] = [None] * total
        self.done = 0
        self.total = total
        self.progress = progress
        self.on_result = on_result
        self.last_report = 0.0

    def emit(self, index: int, result: ItemResult) -> None:
        self.results[index] = result
        self.done += 1
        if self.on_result is not None:
            self.on_result(result)

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_report >= _REPORT_INTERVAL_S:
            self.last_report = now
            self.progress(self.done, self.total, _(MSG_CLASSIFYING))


def classify_images(
    classifier: Classifier,
    paths: Iterable[str | os.PathLike[str]],
    top_k: int = 5,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
    *,
    pool: DecodePool | None = None,
) -> list[ItemResult]:
    """Classify image files and folders (walked recursively); one result per file, in order.

    A file that cannot be read gets an ``ItemResult`` with a translated
    ``error`` and the others go on. Each result goes to ``on_result`` as soon
    as its batch is computed. Raises ``Cancelled`` within about half a second
    of ``cancel.cancel()``.
    """
    from engine.files import iter_image_files

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    files: list[str] = []
    last_report = time.monotonic()
    for path in iter_image_files(paths, cancel):
        files.append(str(path))
        if time.monotonic() - last_report >= _REPORT_INTERVAL_S:  # huge folder trees
            progress(0, None, _(MSG_FINDING))
            last_report = time.monotonic()
    tracker = _Tracker(len(files), progress, on_result)
    tracker.report(force=True)
    decode = functools.partial(
        decode_for_model,
        size=classifier.preprocess.size,
        resize_shorter=classifier.preprocess.resize_shorter,
    )
    from engine import gpu_decode

    gpu = gpu_decode.device_for(classifier) if len(files) > 1 else None
    if gpu is not None:  # nvJPEG on the card; any file it cannot take goes the CPU way
        gpu_decode.classify_on_gpu(classifier, files, top_k, tracker, cancel, _run_batch,
                                   _failure, gpu)
    elif len(files) == 1:
        _classify_in_process(classifier, files[0], decode, top_k, tracker)
    elif files:
        _classify_pipelined(
            classifier, files, decode, top_k, tracker, cancel, pool or _default_pool
        )
    tracker.report(force=True)
    return [result for result in tracker.results if result is not None]


def _failure(path: str, error: BaseException) -> ItemResult:
    if isinstance(error, UserError):
        return ItemResult.failed(path, error.as_message())
    name = os.path.basename(path) or path
    if isinstance(error, BrokenProcessPool):
        log.warning("Decoder worker crashed on %s", path)
        return ItemResult.failed(path, Message(MSG_DECODER_CRASHED, {"name": name}))
    log.error("Unexpected error decoding %s", path, exc_info=error)
    return ItemResult.failed(path, Message(MSG_UNEXPECTED, {"name": name}))


def _classify_in_process(classifier, path, decode, top_k, tracker) -> None:
    try:
        decoded = decode(path)
    except Exception as error:
        tracker.emit(0, _failure(path, error))
        return
    _run_batch(classifier, [(0, path, decoded)], top_k, tracker)


def _run_batch(classifier, items: list[tuple[int, str, DecodedImage]], top_k, tracker) -> None:
    probabilities = classifier.predict_batch(np.stack([item[2].pixels for item in items]))
    for (index, path, decoded), predictions in zip(
        items, classifier.top_k(probabilities, top_k), strict=True
    ):
        tracker.emit(
            index,
            ItemResult(
                path, predictions, None, decoded.thumbnail_jpeg, decoded.width, decoded.height
            ),
        )


def _classify_pipelined(classifier, files, decode, top_k, tracker, cancel, pool) -> None:
    """Decode in worker processes while the model runs on finished decodes.

    At most ``max_in_flight`` decodes are submitted or waiting for the model,
    which bounds memory whatever the folder size. When a worker dies, every
    decode in flight fails with ``BrokenProcessPool`` and nobody knows which
    file did it; those files are retried one at a time in a fresh pool, so
    only the file that crashes on its own is reported as failed.
    """
    batch_size = max(1, classifier.batch_size)
    max_in_flight = batch_size + 2 * pool.workers
    queue: deque[int] = deque(range(len(files)))
    suspects: deque[int] = deque()
    pending: dict[Future, int] = {}
    ready: list[tuple[int, str, DecodedImage]] = []
    decoded_any, lone_crashes = False, 0
    executor = None

    def submit(source: deque[int]) -> bool:
        nonlocal executor
        index = source.popleft()
        executor = pool.executor()
        try:
            pending[executor.submit(decode, files[index])] = index
        except BrokenProcessPool:  # a worker died between two jobs
            source.appendleft(index)
            pool.discard(executor)
            return False
        return True

    try:
        while tracker.done < tracker.total:
            cancel.raise_if_cancelled()
            tracker.report()
            if suspects:
                if not pending:
                    submit(suspects)
            else:
                while queue and len(pending) + len(ready) < max_in_flight and submit(queue):
                    pass
            if ready and (len(ready) >= batch_size or not pending):
                _run_batch(classifier, ready, top_k, tracker)
                ready = []
                continue
            if not pending:
                continue
            finished, _unused = wait(pending, timeout=POLL_INTERVAL_S, return_when=FIRST_COMPLETED)
            crashed: list[int] = []
            for future in finished:
                index = pending.pop(future)
                try:
                    ready.append((index, files[index], future.result()))
                    decoded_any = True
                except BrokenProcessPool:
                    crashed.append(index)
                except CancelledError:  # another job discarded the shared pool
                    queue.appendleft(index)
                except Exception as error:
                    tracker.emit(index, _failure(files[index], error))
            if crashed:
                # The rest of the pool's futures are doomed too; take them back.
                crashed.extend(pending.values())
                pending.clear()
                pool.discard(executor)
                if len(crashed) > 1:
                    suspects.extend(sorted(crashed))
                    continue
                tracker.emit(crashed[0], _failure(files[crashed[0]], BrokenProcessPool()))
                lone_crashes += 1
                if lone_crashes >= 3 and not decoded_any:
                    raise RuntimeError("image decode workers die on start; see the log")
            elif not finished and ready:
                _run_batch(classifier, ready, top_k, tracker)  # slow decodes: don't hold results
                ready = []
    except BaseException:
        running = [future for future in pending if not future.cancel() and not future.done()]
        if running:
            pool.discard(executor)  # don't wait for decodes already under way
        raise
