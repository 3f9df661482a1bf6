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
import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.i18n import N_, Message, _
from engine.images import DecodedImage, decode_for_model
from engine.jobs import Cancelled, CancelToken, Progress, UserError, no_progress

if TYPE_CHECKING:
    from engine.files import InputFile

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
    #: The file's size and modification time when it was read (``--resume`` keys on them).
    size: int | None = None
    mtime_ns: int | None = None

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
    #: The gettext domain that translates ``labels`` for display (the built-in model's
    #: ImageNet names); None for a trained model, whose labels are the user's own words.
    label_domain: str | None = None

    def display_label(self, label: str) -> str:
        """``label`` as a person reading the UI language should see it."""
        if self.label_domain is None:
            return label
        from engine.class_names import display_class_name

        return display_class_name(label)

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
    from engine.class_names import DOMAIN

    classifier = load_lite0(progress, cancel, backend)
    classifier.label_domain = DOMAIN
    return classifier


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
    if package.kind == "ensemble":  # members' probabilities, averaged (engine.ensemble)
        from engine.ensemble import load_ensemble_classifier

        return load_ensemble_classifier(package, progress, cancel, backend)
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

#: Files a GPU decode call takes at once when the feed is streamed.
_GPU_CHUNK = 256


class _Tracker:
    """Streams results, keeps them only when asked, throttles progress reports.

    ``on_batch`` runs after each step of the loop that produced results (about one
    model batch): the command line commits its results file there. ``total`` is None
    until the background count of the inputs ends.
    """

    def __init__(self, progress: Progress, on_result, keep: bool = True,
                 on_batch: Callable[[], None] | None = None) -> None:
        self.kept: dict[int, ItemResult] | None = {} if keep else None
        self.done = 0
        self.total: int | None = None
        self.progress = progress
        self.on_result = on_result
        self.on_batch = on_batch
        self.last_report = 0.0
        self._stats: dict[int, tuple[int, int]] = {}
        self._fresh = False
        # Results reach ``on_result`` in input order, so two runs print the same lines in the
        # same order; the few that finish early wait here (at most the files in flight).
        self._waiting: dict[int, ItemResult] = {}
        self._next = 0

    def register(self, index: int, item: InputFile) -> None:
        """Remember an input's size and mtime until its result is emitted."""
        if item.size >= 0:
            self._stats[index] = (item.size, item.mtime_ns)

    def emit(self, index: int, result: ItemResult) -> None:
        stats = self._stats.pop(index, None)
        if stats is not None:
            result.size, result.mtime_ns = stats
        if self.kept is not None:
            self.kept[index] = result
        self._waiting[index] = result
        while self._next in self._waiting:
            ready = self._waiting.pop(self._next)
            self._next += 1
            self.done += 1
            self._fresh = True
            if self.on_result is not None:
                self.on_result(ready)

    def flush(self) -> None:
        """Deliver what still waits for an earlier input (after a cancel: nothing is lost)."""
        for index in sorted(self._waiting):
            self._next = index
            self.emit(index, self._waiting.pop(index))

    def report(self, force: bool = False) -> None:
        if self._fresh and self.on_batch is not None:
            self._fresh = False
            self.on_batch()
        now = time.monotonic()
        if force or now - self.last_report >= _REPORT_INTERVAL_S:
            self.last_report = now
            total = None if self.total is None else max(self.total, self.done)
            self.progress(self.done, total, _(MSG_CLASSIFYING))

    def results(self) -> list[ItemResult]:
        if not self.kept:
            return []
        return [self.kept[index] for index in sorted(self.kept)]


class _Offset:
    """A tracker seen through a chunk's own numbering (the GPU path takes lists)."""

    def __init__(self, tracker: _Tracker, indices: list[int]) -> None:
        self.tracker, self.indices = tracker, indices

    def emit(self, position: int, result: ItemResult) -> None:
        self.tracker.emit(self.indices[position], result)

    def report(self, force: bool = False) -> None:
        self.tracker.report(force)


Select = Callable[["InputFile"], bool]


def classify_images(
    classifier: Classifier,
    paths: Iterable[str | os.PathLike[str]],
    top_k: int = 5,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
    *,
    pool: DecodePool | None = None,
    select: Select | None = None,
    keep_results: bool = True,
    on_batch: Callable[[], None] | None = None,
) -> list[ItemResult]:
    """Classify image files and folders (walked recursively); one result per file.

    A file that cannot be read gets an ``ItemResult`` with a translated
    ``error`` and the others go on; so does a folder that cannot be listed (its
    images are skipped). Each result goes to ``on_result`` as soon as its batch
    is computed, with the file's ``size`` and ``mtime_ns``. Raises ``Cancelled``
    within about half a second of ``cancel.cancel()``.

    Memory stays bounded whatever the folder size: the walk is lazy and feeds
    the decoders a bounded number of files at a time; ``select`` (given each
    ``engine.files.InputFile``) drops inputs before any work (``--shard``,
    ``--resume``). With ``keep_results`` (the default) the results also come back
    as a list, in input order; a caller that consumes ``on_result`` passes False
    so nothing accumulates. The total for progress comes from a second, cheap walk
    in a background thread; it is None until that walk ends.
    """
    progress = progress or no_progress
    cancel = cancel or CancelToken()
    roots = list(paths)  # walked twice: the count and the work
    tracker = _Tracker(progress, on_result, keep_results, on_batch)
    progress(0, None, _(MSG_FINDING))
    stop_count = CancelToken()
    threading.Thread(target=_count_inputs, args=(roots, select, tracker, stop_count),
                     name="taxon-count-inputs", daemon=True).start()
    try:
        _classify_stream(classifier, _files(roots, cancel, select, tracker), top_k, tracker,
                         cancel, pool or _default_pool)
    finally:
        stop_count.cancel()
        tracker.flush()
    tracker.total = tracker.done
    tracker.report(force=True)
    return tracker.results()


def _classify_stream(classifier, files: Iterator[tuple[int, str]], top_k, tracker, cancel,
                     pool) -> None:
    decode = functools.partial(
        decode_for_model,
        size=classifier.preprocess.size,
        resize_shorter=classifier.preprocess.resize_shorter,
    )
    head = list(itertools.islice(files, 2))  # one file alone is decoded in this process
    tracker.report(force=True)
    if not head:
        return
    if len(head) == 1:
        _classify_in_process(classifier, head[0], decode, top_k, tracker)
        return
    files = itertools.chain(head, files)
    from engine import gpu_decode

    gpu = gpu_decode.device_for(classifier)
    if gpu is not None:  # nvJPEG on the card; any file it cannot take goes the CPU way
        while chunk := list(itertools.islice(files, _GPU_CHUNK)):
            gpu_decode.classify_on_gpu(classifier, [path for _i, path in chunk], top_k,
                                       _Offset(tracker, [index for index, _p in chunk]),
                                       cancel, _run_batch, _failure, gpu)
    else:
        _classify_pipelined(classifier, files, decode, top_k, tracker, cancel, pool)


MSG_FOLDER_UNREADABLE = N_("The folder {name} could not be read, so the images in it were "
                           "skipped.")


def _walk_with_errors(roots: list, cancel: CancelToken, select: Select | None
                      ) -> Iterator[tuple[InputFile, Message | None]]:
    """Every selected input in walk order, and each unreadable folder with its message."""
    from engine.files import InputFile, iter_inputs

    errors: deque[tuple[InputFile, Message]] = deque()

    def on_error(folder, relative: str, error: OSError) -> None:
        try:
            info = os.stat(folder)
            item = InputFile(folder, relative, info.st_size, info.st_mtime_ns)
        except OSError:
            item = InputFile(folder, relative)
        errors.append((item, Message(MSG_FOLDER_UNREADABLE, {"name": folder.name or folder})))

    def pending_errors() -> Iterator[tuple[InputFile, Message]]:
        while errors:
            item, message = errors.popleft()
            if select is None or select(item):
                yield item, message

    for item in iter_inputs(roots, cancel, on_error):
        yield from pending_errors()
        if select is None or select(item):
            yield item, None
    yield from pending_errors()


def _files(roots: list, cancel: CancelToken, select: Select | None, tracker: _Tracker
           ) -> Iterator[tuple[int, str]]:
    """(index, path) of each file to classify, lazily; folder errors are emitted on the way."""
    for index, (item, error) in enumerate(_walk_with_errors(roots, cancel, select)):
        tracker.register(index, item)
        if error is not None:
            tracker.emit(index, ItemResult.failed(str(item.path), error))
        else:
            yield index, str(item.path)


def _count_inputs(roots: list, select: Select | None, tracker: _Tracker,
                  stop: CancelToken) -> None:
    """The number of results the job will give, for "N of M" and the time left."""
    count = 0
    try:
        for _item in _walk_with_errors(roots, stop, select):
            count += 1
    except Cancelled:
        return
    except Exception:  # noqa: BLE001 - a count is a nicety; the job reports real errors
        log.debug("Counting the inputs failed", exc_info=True)
        return
    tracker.total = count


def _failure(path: str, error: BaseException) -> ItemResult:
    if isinstance(error, UserError):
        return ItemResult.failed(path, error.as_message())
    name = os.path.basename(path) or path
    if isinstance(error, BrokenProcessPool):
        log.warning("Decoder worker crashed on %s", path)
        return ItemResult.failed(path, Message(MSG_DECODER_CRASHED, {"name": name}))
    log.error("Unexpected error decoding %s", path, exc_info=error)
    return ItemResult.failed(path, Message(MSG_UNEXPECTED, {"name": name}))


def _classify_in_process(classifier, item: tuple[int, str], decode, top_k, tracker) -> None:
    index, path = item
    try:
        decoded = decode(path)
    except Exception as error:
        tracker.emit(index, _failure(path, error))
        return
    _run_batch(classifier, [(index, path, decoded)], top_k, tracker)


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


def _classify_pipelined(classifier, feed: Iterator[tuple[int, str]], decode, top_k, tracker,
                        cancel, pool) -> None:
    """Decode in worker processes while the model runs on finished decodes.

    Files are taken from the lazy ``feed`` only while fewer than
    ``max_in_flight`` decodes are submitted or waiting for the model, which
    bounds memory whatever the folder size. When a worker dies, every decode in
    flight fails with ``BrokenProcessPool`` and nobody knows which file did it;
    those files are retried one at a time in a fresh pool, so only the file that
    crashes on its own is reported as failed.
    """
    batch_size = max(1, classifier.batch_size)
    max_in_flight = batch_size + 2 * pool.workers
    files: dict[int, str] = {}  # the files in flight, by index
    retry: deque[int] = deque()  # taken back from a pool that went away
    suspects: deque[int] = deque()
    pending: dict[Future, int] = {}
    ready: list[tuple[int, str, DecodedImage]] = []
    decoded_any, lone_crashes, exhausted = False, 0, False
    executor = None

    def take() -> deque[int] | None:
        """The queue holding the next file to decode (pulled from the feed if need be)."""
        nonlocal exhausted
        if not retry and not exhausted:
            item = next(feed, None)
            if item is None:
                exhausted = True
            else:
                files[item[0]] = item[1]
                retry.append(item[0])
        return retry or None

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

    def fail(index: int, error: BaseException) -> None:
        tracker.emit(index, _failure(files.pop(index), error))

    try:
        while True:
            cancel.raise_if_cancelled()
            tracker.report()
            if suspects:
                if not pending:
                    submit(suspects)
            else:
                while len(pending) + len(ready) < max_in_flight:
                    source = take()
                    if source is None or not submit(source):
                        break
            if ready and (len(ready) >= batch_size or not pending):
                _run_batch(classifier, ready, top_k, tracker)
                ready = []
                continue
            if not pending:
                if exhausted and not retry and not suspects:
                    break
                continue
            finished, _unused = wait(pending, timeout=POLL_INTERVAL_S, return_when=FIRST_COMPLETED)
            crashed: list[int] = []
            for future in finished:
                index = pending.pop(future)
                try:
                    ready.append((index, files[index], future.result()))
                    del files[index]
                    decoded_any = True
                except BrokenProcessPool:
                    crashed.append(index)
                except CancelledError:  # another job discarded the shared pool
                    retry.appendleft(index)
                except Exception as error:
                    fail(index, error)
            if crashed:
                # The rest of the pool's futures are doomed too; take them back.
                crashed.extend(pending.values())
                pending.clear()
                pool.discard(executor)
                if len(crashed) > 1:
                    suspects.extend(sorted(crashed))
                    continue
                fail(crashed[0], BrokenProcessPool())
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
