"""Per-file work on many image files, in worker processes: fingerprints and content hashes.

The data checks and the feature extractor both need something from every file of a
dataset (a content hash, a decode, a perceptual hash). That work is CPU-bound and
runs native decoders on files that may be hostile, so it runs in the decode worker
processes of ``engine.core.workers.DecodePool`` (forkserver/spawn, never fork): a
decoder that crashes kills a worker, not the app, and only the file that crashes
on its own is reported. Files go to the workers in chunks, because one task per
tiny file would cost more in inter-process traffic than the work itself.

``fingerprint_files`` is the data checks' per-file work; ``file_digest`` is the
content hash both the checks and the feature cache key on. Both are top-level
functions of a module that imports no pandas or torch, so a worker starts fast.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from engine.core.i18n import N_, _, format_duration
from engine.core.jobs import CancelToken, Progress, Throttle
from engine.core.memo import StatMemo
from engine.core.memo import stat_key as memo_stat_key
from engine.core.regular_files import open_regular
from engine.core.workers import DecodePool, bounded_map
from engine.data.images import MSG_UNREADABLE, ImageReadError

log = logging.getLogger(__name__)

R = TypeVar("R")

#: A crash that takes a worker down is reported with this reason.
MSG_DECODER_CRASHED = N_("The image decoder crashed while reading {name}.")
#: Files per task: big enough that inter-process traffic is small against the work.
CHUNK_SIZE = 16
#: Side the fingerprints decode to (JPEG DCT scaling makes this several times faster).
FINGERPRINT_SIDE = 64
#: Colour thumbnail used to confirm near duplicates: this many cells a side, RGB.
COLOUR_CELLS = 4
#: Greyscale thumbnail that confirms near duplicates pixel by pixel: this many pixels a side.
THUMB_SIDE = 16
_READ_BLOCK = 1 << 20

_pool = DecodePool()
atexit.register(_pool.close)


def close() -> None:
    """Stop this module's worker processes (also done at exit)."""
    _pool.close()


# --------------------------------------------------------------------------- per-file work


def file_digest(path: str) -> str:
    """BLAKE2b-128 of the file's bytes, hex: identical files, whatever their names or
    folders, get the same key (exact duplicates, the feature cache)."""
    digest = hashlib.blake2b(digest_size=16)
    # A device or FIFO raises NotRegularFileError (an OSError): /dev/zero never ends.
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


#: Content hashes remembered by (path, size, mtime): 100 bytes each.
DIGEST_MEMO_LIMIT = 1_000_000
_digests: StatMemo[str] = StatMemo(DIGEST_MEMO_LIMIT)


def remember_digests(pairs: Iterable[tuple[tuple[str, int, int] | None, str | None]]) -> None:
    """Remember content hashes by (path, size, mtime), so a file is read once per
    session by the checks and the feature extractor together."""
    _digests.put_many(
        (key, digest) for key, digest in pairs if key is not None and digest is not None
    )


def recall_digest(path: str) -> str | None:
    """The remembered content hash of ``path`` if the file is unchanged since."""
    return _digests.get(stat_key(path))


def stat_key(path: str) -> tuple[str, int, int] | None:
    """(path, size, mtime) — when these are unchanged, so is anything computed from the
    file; None if the file cannot be looked at."""
    try:
        return memo_stat_key(path)
    except OSError:
        return None


@dataclass(frozen=True)
class Fingerprint:
    """What the data checks need to know about one file.

    ``error`` is an ``ImageReadError`` msgid (``None`` when the file decodes);
    ``digest`` is None only when the file cannot be read at all. The hashes are
    64-bit integers; ``colour`` is a tiny RGB thumbnail (``COLOUR_CELLS``² × 3 bytes),
    ``thumb`` a greyscale one (``THUMB_SIDE``² bytes).
    """

    key: tuple[str, int, int] | None
    digest: str | None
    error: str | None = None
    error_text: str = ""
    width: int = -1
    height: int = -1
    phash: int = 0
    dhash: int = 0
    colour: bytes = b""
    thumb: bytes = b""


def _bits_to_int(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.astype(bool).ravel()).tobytes(), "big")


def fingerprint(path: str) -> Fingerprint:
    """Content hash, size, perceptual hashes and colour thumbnail of one file.

    Decodes at about ``FINGERPRINT_SIDE`` pixels: pHash works on a 32×32 and dHash
    on a 9×8 reduction, so decoding a camera photo at full size would be wasted.
    """
    import imagehash
    from PIL import Image

    from engine.data.images import load_rgb_with_size  # the original size, before draft scaling

    key = stat_key(path)
    try:
        digest = file_digest(path)
    except OSError:
        digest = None
    try:
        image, (width, height) = load_rgb_with_size(path, FINGERPRINT_SIDE)
    except ImageReadError as error:
        return Fingerprint(key, digest, error.msgid, error.message)
    except Exception as error:  # never let one file fail the whole chunk
        log.warning("Cannot fingerprint %s", path, exc_info=True)
        failure = ImageReadError(MSG_UNREADABLE, path, f"{type(error).__name__}: {error}")
        return Fingerprint(key, digest, failure.msgid, failure.message)
    colour = image.resize((COLOUR_CELLS, COLOUR_CELLS), Image.Resampling.BOX).tobytes()
    thumb = image.convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX).tobytes()
    return Fingerprint(
        key,
        digest,
        None,
        "",
        width,
        height,
        _bits_to_int(imagehash.phash(image).hash),
        _bits_to_int(imagehash.dhash(image).hash),
        colour,
        thumb,
    )


def fingerprint_files(paths: list[str]) -> list[Fingerprint]:
    """``fingerprint`` of each path (a worker task)."""
    return [fingerprint(path) for path in paths]


def digest_files(paths: list[str]) -> list[tuple[tuple[str, int, int] | None, str | None]]:
    """(stat key, content hash or None) of each path (a worker task)."""
    out: list[tuple[tuple[str, int, int] | None, str | None]] = []
    for path in paths:
        try:
            out.append((stat_key(path), file_digest(path)))
        except OSError:
            out.append((stat_key(path), None))
    return out


def crash_message(path: str) -> str:
    """The translated reason shown for a file that crashed the decoder."""
    return _(MSG_DECODER_CRASHED).format(name=os.path.basename(path) or path)


# --------------------------------------------------------------------------- the map


def _with_time_left(text: str, done: int, total: int, started: float) -> str:
    """``text`` and, once the rate is known, "about 3 minutes left" (100,000 files take a
    while: the user should know how long)."""
    elapsed = time.monotonic() - started
    if done <= 0 or done >= total or elapsed < 2:
        return text
    left = elapsed / done * (total - done)
    return text + " · " + _("about {time} left").format(time=format_duration(left))


#: A task of ``map_files``: the paths' indices and the paths.
_Chunk = tuple[list[int], list[str]]


def _chunks(paths: Sequence[str], size: int) -> Iterator[_Chunk]:
    for start in range(0, len(paths), size):
        indices = list(range(start, min(start + size, len(paths))))
        yield indices, [paths[i] for i in indices]


def map_files(
    work: Callable[[list[str]], list[R]],
    paths: Sequence[str],
    progress: Progress,
    cancel: CancelToken,
    message: str,
    on_crash: Callable[[str], R],
    *,
    pool: DecodePool | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_done: Callable[[list[R]], None] | None = None,
) -> list[R]:
    """``work`` over ``paths`` in worker processes, in chunks; results in input order.

    ``work(chunk) -> results`` must be a picklable top-level function that handles
    its files' errors itself. When a worker dies, every chunk in flight fails and
    nobody knows which file did it, so those files are retried one at a time in a
    fresh pool and only a file that crashes on its own gets ``on_crash(path)``
    (``engine.core.workers.bounded_map``). ``progress`` gets ``_(message)`` (with the
    time left) at least every quarter second and ``cancel`` is honoured within
    ``POLL_S``. A single file is worked on in this process. ``on_done(results)`` hears
    of each finished chunk, so a caller can keep what was computed even when the job
    is cancelled halfway through.

    Memory: at most ``2 × workers`` chunks are in flight, and the results are
    whatever ``work`` returns (small fingerprints, not images).
    """
    total = len(paths)
    results: list[R | None] = [None] * total
    if total == 0:
        return []
    cancel.raise_if_cancelled()
    progress(0, total, _(message))
    if total == 1:
        single = list(work([paths[0]]))
        if on_done is not None:
            on_done(single)
        return single
    pool = pool or _pool
    done = 0
    started = time.monotonic()
    throttle = Throttle(wait_first=True)

    def finished(task: _Chunk, chunk: list[R]) -> None:
        nonlocal done
        for index, result in zip(task[0], chunk, strict=True):
            results[index] = result
        done += len(task[0])
        if on_done is not None:
            on_done(chunk)

    def crashed(task: _Chunk) -> None:
        nonlocal done
        log.warning("Image decoder crashed on %s", task[1][0])
        results[task[0][0]] = on_crash(task[1][0])
        done += 1

    def report(_in_flight: int, _idle: bool) -> None:
        if throttle.due():
            progress(done, total, _with_time_left(_(message), done, total, started))

    bounded_map(
        pool,
        work,
        _chunks(paths, chunk_size),
        in_flight=2 * pool.workers,
        cancel=cancel,
        on_done=finished,
        on_crash=crashed,
        on_round=report,
        split=lambda task: [([i], [p]) for i, p in zip(*task, strict=True)],
    )
    progress(total, total, _(message))
    return results  # type: ignore[return-value]
