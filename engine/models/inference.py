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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import numpy as np

from engine.core.i18n import N_, Message, _
from engine.core.jobs import Cancelled, CancelToken, Progress, Throttle, UserError, no_progress
from engine.core.workers import DecodePool, bounded_map, shared_pool
from engine.data.images import DecodedImage, decode_for_model
from engine.models.contract import Classifier, ItemResult

if TYPE_CHECKING:
    from engine.data.files import InputFile

log = logging.getLogger(__name__)

MSG_FINDING = N_("Looking for images…")
MSG_CLASSIFYING = N_("Classifying images…")
MSG_DECODER_CRASHED = N_("The image decoder crashed while reading {name}.")
MSG_UNEXPECTED = N_("{name} could not be classified because of an unexpected error.")

#: Files a GPU decode call takes at once when the feed is streamed.
_GPU_CHUNK = 256


class _Tracker:
    """Streams results, keeps them only when asked, throttles progress reports.

    ``on_batch`` runs after each step of the loop that produced results (about one
    model batch): the command line commits its results file there. ``total`` is None
    until the background count of the inputs ends.
    """

    def __init__(
        self,
        progress: Progress,
        on_result,
        keep: bool = True,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.kept: dict[int, ItemResult] | None = {} if keep else None
        self.done = 0
        self.total: int | None = None
        self.progress = progress
        self.on_result = on_result
        self.on_batch = on_batch
        self.throttle = Throttle()
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
        if self.throttle.due(force):
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
    threading.Thread(
        target=_count_inputs,
        args=(roots, select, tracker, stop_count),
        name="taxon-count-inputs",
        daemon=True,
    ).start()
    try:
        _classify_stream(
            classifier,
            _files(roots, cancel, select, tracker),
            top_k,
            tracker,
            cancel,
            pool or shared_pool(),
        )
    finally:
        stop_count.cancel()
        tracker.flush()
    tracker.total = tracker.done
    tracker.report(force=True)
    return tracker.results()


def _classify_stream(
    classifier, files: Iterator[tuple[int, str]], top_k, tracker, cancel, pool
) -> None:
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
            gpu_decode.classify_on_gpu(
                classifier,
                [path for _i, path in chunk],
                top_k,
                _Offset(tracker, [index for index, _p in chunk]),
                cancel,
                _run_batch,
                _failure,
                gpu,
            )
    else:
        _classify_pipelined(classifier, files, decode, top_k, tracker, cancel, pool)


MSG_FOLDER_UNREADABLE = N_("The folder {name} could not be read, so the images in it were skipped.")


def _walk_with_errors(
    roots: list, cancel: CancelToken, select: Select | None
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


def _files(
    roots: list, cancel: CancelToken, select: Select | None, tracker: _Tracker
) -> Iterator[tuple[int, str]]:
    """(index, path) of each file to classify, lazily; folder errors are emitted on the way."""
    for index, (item, error) in enumerate(_walk_with_errors(roots, cancel, select)):
        tracker.register(index, item)
        if error is not None:
            tracker.emit(index, ItemResult.failed(str(item.path), error))
        else:
            yield index, str(item.path)


def _count_inputs(roots: list, select: Select | None, tracker: _Tracker, stop: CancelToken) -> None:
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


def _classify_pipelined(
    classifier, feed: Iterator[tuple[int, str]], decode, top_k, tracker, cancel, pool
) -> None:
    """Decode in worker processes while the model runs on finished decodes.

    ``bounded_map`` takes files from the lazy ``feed`` only while fewer than
    ``batch_size + 2 × workers`` decodes are in flight or waiting here for the model,
    which bounds memory whatever the folder size; a file that crashes a worker on its
    own is reported as failed, the others are retried. A batch runs when it is full,
    when nothing else is being decoded, and when a wait brought nothing (slow decodes:
    don't hold results back).
    """
    batch_size = max(1, classifier.batch_size)
    ready: list[tuple[int, str, DecodedImage]] = []

    def decoded(item: tuple[int, str], image: DecodedImage) -> None:
        ready.append((item[0], item[1], image))

    def failed(item: tuple[int, str], error: BaseException) -> None:
        tracker.emit(item[0], _failure(item[1], error))

    def between(in_flight: int, idle: bool) -> None:
        if ready and (len(ready) >= batch_size or not in_flight or idle):
            _run_batch(classifier, ready, top_k, tracker)
            ready.clear()
        tracker.report()

    bounded_map(
        pool,
        decode,
        feed,
        in_flight=batch_size + 2 * pool.workers,
        cancel=cancel,
        on_done=decoded,
        on_error=failed,
        held=lambda: len(ready),
        on_round=between,
        on_crash=lambda item: failed(item, BrokenProcessPool()),
    )
