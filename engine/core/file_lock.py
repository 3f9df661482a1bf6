"""One exclusive lock between processes, on a lock file, on every OS.

The model library's index and a package folder's writers both serialise through
it. Where the file system refuses locks (some network shares) it logs and goes on:
the writes it guards are atomic on their own, the lock only keeps them in order.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_RETRY_S = 0.05


@contextlib.contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if missing), waiting for it."""
    with open(lock_file, "a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(_RETRY_S)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            return
        import fcntl

        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except OSError as error:
            log.warning("cannot lock %s (%s); going on without a lock", lock_file, error)
        yield  # closing the file releases the lock
