"""Uploaded image bytes to model pixels, in the crash-safe decode worker processes.

The service decodes exactly like ``engine.models.inference.classify_images`` (same
Pillow path, same bomb, truncation and aspect-ratio guards, same errors), but
from bytes in memory rather than a file, and always in a worker process: a
native decoder that crashes on a hostile upload kills a worker, never the
server, and only that upload gets an error.

When a worker dies, every decode in flight in that pool fails and nobody knows
which upload did it. Those uploads are retried one at a time in a separate
one-worker *quarantine* pool, under a lock, so a crash there is the retried
upload's own, whatever other requests are doing meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import warnings
from concurrent.futures import CancelledError, Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.core.i18n import N_, Message
from engine.core.workers import DEFAULT_DECODE_WORKERS, DecodePool
from engine.data import images
from engine.data.images import ImageReadError

log = logging.getLogger(__name__)

MSG_DECODER_CRASHED = N_("The image decoder crashed while reading {name}.")

#: Stable codes for each per-file error, for programs that must not parse messages.
ERROR_CODES = {
    images.MSG_EMPTY: "empty",
    images.MSG_NOT_IMAGE: "not_an_image",
    images.MSG_CORRUPT: "damaged",
    images.MSG_TOO_LARGE: "too_large",
    images.MSG_TOO_THIN: "too_thin",
    MSG_DECODER_CRASHED: "decoder_crashed",
}


@dataclass(frozen=True)
class Pixels:
    """A decoded upload: centre-cropped RGB model input and the original size."""

    pixels: np.ndarray
    width: int
    height: int


@dataclass(frozen=True)
class DecodeFailure:
    """Why one upload could not be decoded; ``code`` is one of ``ERROR_CODES``."""

    message: Message
    code: str


def decode_upload(data: bytes, name: str, size: int, resize_shorter: int) -> Pixels:
    """Decode one uploaded image (a worker task); raises ``ImageReadError``.

    Mirrors ``engine.data.images.decode_for_model`` without the thumbnail, which a
    service does not return.
    """
    shown = Path(name or "image")
    if not data:
        raise ImageReadError(images.MSG_EMPTY, shown)
    shorter = max(resize_shorter, size)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image, (width, height) = images.decode_stream(
                io.BytesIO(data), shorter, shown, images.MAX_ASPECT_RATIO
            )
        except ImageReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageReadError(images.MSG_TOO_LARGE, shown, str(error)) from error
        except UnidentifiedImageError as error:
            raise ImageReadError(images.MSG_NOT_IMAGE, shown, str(error)) from error
        except MemoryError as error:
            raise ImageReadError(images.MSG_TOO_LARGE, shown, "out of memory") from error
        except images.UnsupportedModeError as error:
            raise ImageReadError(images.MSG_NOT_IMAGE, shown, str(error)) from error
        except Exception as error:  # decoders report damage as many exception types
            raise ImageReadError(
                images.MSG_CORRUPT, shown, f"{type(error).__name__}: {error}"
            ) from error
    cropped = images.center_crop(images.resize_shorter_side(image, shorter), size)
    return Pixels(np.array(cropped, dtype=np.uint8), width, height)


def _failure(name: str, error: BaseException) -> DecodeFailure:
    shown = os.path.basename(name) or name or "image"
    if isinstance(error, ImageReadError):
        return DecodeFailure(error.as_message(), ERROR_CODES.get(error.msgid, "unreadable"))
    if isinstance(error, BrokenProcessPool):
        log.warning("Decoder worker crashed on upload %s", shown)
        return DecodeFailure(Message(MSG_DECODER_CRASHED, {"name": shown}), "decoder_crashed")
    log.error("Unexpected error decoding upload %s", shown, exc_info=error)
    return DecodeFailure(Message(images.MSG_UNREADABLE, {"name": shown}), "unreadable")


class DecodeService:
    """Decodes uploads for one model's input size in worker processes (asyncio side)."""

    def __init__(
        self, size: int, resize_shorter: int, workers: int = DEFAULT_DECODE_WORKERS
    ) -> None:
        self.size, self.resize_shorter = size, resize_shorter
        self._pool = DecodePool(workers)
        self._quarantine = DecodePool(1)
        self._quarantine_lock: asyncio.Lock | None = None

    def warm_up(self) -> None:
        """Start the workers now, so the first request does not wait a second for them."""
        executor = self._pool.executor()
        for future in [executor.submit(os.getpid) for _ in range(self._pool.workers)]:
            future.result()

    def close(self) -> None:
        self._pool.close()
        self._quarantine.close()

    def _submit(self, pool: DecodePool, data: bytes, name: str) -> tuple[Executor, Future]:
        """Submit one decode; a pool that broke between two requests is replaced once."""
        for attempt in range(2):
            executor = pool.executor()
            try:
                return executor, executor.submit(
                    decode_upload, data, name, self.size, self.resize_shorter
                )
            except BrokenProcessPool:
                pool.discard(executor)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def decode_all(self, uploads: list[tuple[str, bytes]]) -> list[Pixels | DecodeFailure]:
        """One ``Pixels`` or ``DecodeFailure`` per ``(name, data)``, in order."""
        results: list[Pixels | DecodeFailure | None] = [None] * len(uploads)
        futures: dict[int, tuple[Executor, Future]] = {}
        suspects: list[int] = []
        broken: set[Executor] = set()
        for index, (name, data) in enumerate(uploads):
            try:
                futures[index] = self._submit(self._pool, data, name)
            except BrokenProcessPool:
                suspects.append(index)
        wrapped = [asyncio.wrap_future(future) for _executor, future in futures.values()]
        outcomes = await asyncio.gather(*wrapped, return_exceptions=True)
        for (index, (executor, _future)), outcome in zip(futures.items(), outcomes, strict=True):
            if isinstance(outcome, (BrokenProcessPool, CancelledError, asyncio.CancelledError)):
                suspects.append(index)  # a crash somewhere in the pool, or a discarded pool
                broken.add(executor)
            elif isinstance(outcome, BaseException):
                results[index] = _failure(uploads[index][0], outcome)
            else:
                results[index] = outcome
        for executor in broken:
            self._pool.discard(executor)  # only that pool: another request may have a new one
        if suspects:
            for index in sorted(suspects):
                results[index] = await self._decode_alone(*uploads[index])
        return [result for result in results if result is not None]

    async def _decode_alone(self, name: str, data: bytes) -> Pixels | DecodeFailure:
        """Decode one upload by itself in the quarantine pool: a crash there is its own."""
        if self._quarantine_lock is None:
            self._quarantine_lock = asyncio.Lock()
        async with self._quarantine_lock:
            try:
                _executor, future = self._submit(self._quarantine, data, name)
                return await asyncio.wrap_future(future)
            except BrokenProcessPool as error:
                self._quarantine.discard()  # only this lock's holder uses the quarantine
                return _failure(name, error)
            except Exception as error:
                return _failure(name, error)
