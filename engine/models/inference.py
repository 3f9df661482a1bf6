"""The ``classify_images`` job: any ``Classifier`` over files and folders.

Decoding, batching, progress, cancellation and error reporting live here so
every model gets them alike. Files are decoded in the worker processes of
``engine.core.workers`` (a crashing decoder costs one file, not the app, and
decoding overlaps with the network); a single image is decoded in-process
instead, since its latency matters more than isolation. Results stream out in
input order as they complete.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import numpy as np

from engine.core.i18n import N_, Message, _
from engine.core.jobs import Cancelled, CancelToken, Progress, UserError, no_progress
from engine.core.workers import DecodePool, shared_pool
from engine.data.images import DecodedImage, decode_for_model
from engine.models.contract import Classifier, ItemResult

if TYPE_CHECKING:
    from engine.data.files import InputFile

log = logging.getLogger(__name__)

MSG_FINDING = N_("Looking for images…")
MSG_CLASSIFYING = N_("Classifying images…")
MSG_DECODER_CRASHED = N_("The image decoder crashed while reading {name}.")
MSG_UNEXPECTED = N_("{name} could not be classified because of an unexpected error.")
#: Progress and cancellation are checked at least this often (seconds).
POLL_INTERVAL_S = 0.2
_REPORT_INTERVAL_S = 0.25


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
    ``engine.data.files.InputFile``) drops inputs before any work (``--shard``,
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
                         cancel, pool or shared_pool())
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
    from engine.data import gpu_decode

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
    from engine.data.files import InputFile, iter_inputs

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
