"""One thread owns the model and runs concurrent requests' items as shared batches.

A model classifies 16 images in one forward pass in much less than 16 times
the time of one, so a server that ran each request alone would waste most of
its throughput once clients come concurrently. Requests put their items on a
queue and get a future per item; the model thread takes what is waiting,
waits at most ``max_wait_s`` for more (only when the batch is not yet full),
runs one batch and resolves the futures. A lone request pays at most that
small wait; 32 concurrent ones share batches.

One thread also means the model is never called concurrently (ONNX Runtime
sessions and the text models' locks assume it) and inference never blocks the
event loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class BatcherClosed(RuntimeError):
    """The batcher was closed before or while an item waited."""


class MicroBatcher:
    """Runs ``run(items) -> results`` (same length, same order) on batches of queued items."""

    def __init__(
        self,
        run: Callable[[list[Any]], Sequence[Any]],
        max_batch: int,
        max_wait_s: float = 0.005,
        name: str = "taxon-model",
    ) -> None:
        self._run = run
        self.max_batch = max(1, int(max_batch))
        self.max_wait_s = max(0.0, float(max_wait_s))
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = threading.Event()
        self.batches = 0  # batches run so far (read by tests and the benchmark)
        self.items = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Any]) -> list[Future]:
        """Queue ``items``; one future per item, resolved with its result or exception."""
        if self._closed.is_set():
            raise BatcherClosed("the model thread has stopped")
        futures: list[Future] = []
        for item in items:
            future: Future = Future()
            futures.append(future)
            self._queue.put((item, future))
        return futures

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread once the queued work is done; later submits raise."""
        if not self._closed.is_set():
            self._closed.set()
            self._queue.put(_STOP)
        self._thread.join(timeout)

    # ------------------------------------------------------------------ model thread

    def _collect(self, first: Any) -> tuple[list[Any], bool]:
        """``first`` plus whatever arrives within the wait, up to a full batch."""
        batch = [first]
        stop = False
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    entry = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if entry is _STOP:
                stop = True
                break
            batch.append(entry)
        return batch, stop

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch, stop = self._collect(first)
            live = [
                (item, future) for item, future in batch if future.set_running_or_notify_cancel()
            ]
            if live:
                self._run_batch(live)
        self._fail_leftovers()

    def _run_batch(self, live: list[tuple[Any, Future]]) -> None:
        try:
            results = self._run([item for item, _future in live])
            if len(results) != len(live):
                raise RuntimeError(f"{len(results)} results for {len(live)} items")
        except Exception as error:  # a bug or a model failure: each caller gets the error
            log.exception("Model batch of %d failed", len(live))
            for _item, future in live:
                future.set_exception(error)
            return
        self.batches += 1
        self.items += len(live)
        for (_item, future), result in zip(live, results, strict=True):
            future.set_result(result)

    def _fail_leftovers(self) -> None:
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return
            if entry is not _STOP and entry[1].set_running_or_notify_cancel():
                entry[1].set_exception(BatcherClosed("the model thread has stopped"))
