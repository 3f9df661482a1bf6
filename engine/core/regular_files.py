"""Opening the user's files without ever hanging on a device, a pipe or a socket.

Any path Taxon reads comes from the user: typed, dropped, found in a folder or
listed in a table. ``/dev/zero`` reads zeros forever, opening a FIFO blocks
until someone writes to it, and ``os.path.getsize`` says 0 for both. So only
regular files are opened: the path is checked with ``os.stat`` first (nothing
special is even opened), then opened with ``O_NONBLOCK`` (a FIFO swapped in
between cannot block the open) and checked again on the open descriptor.
Reads that load a whole file take a byte limit.

The errors are ``OSError`` subclasses, so callers that already turn OSErrors
into per-file messages keep working; ``MSG_NOT_REGULAR`` is the message to
show for ``NotRegularFileError``.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from engine.core.i18n import N_

MSG_NOT_REGULAR = N_(
    "{name} is not a regular file (it is a device, a pipe or another special file), "
    "so Taxon does not read it."
)

_OPEN_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class NotRegularFileError(OSError):
    """The path is a device, FIFO, socket or other special file (not a folder)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, "not a regular file", os.fspath(path))


class FileTooLargeError(OSError):
    """A whole-file read found more bytes than its limit."""

    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {limit} bytes", os.fspath(path))
        self.limit = limit


def check_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat`` of ``path``; raises ``NotRegularFileError`` for special files.

    Folders pass through (``open`` then raises ``IsADirectoryError``, which
    callers already report as "a folder").
    """
    info = os.stat(path)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise NotRegularFileError(path)
    return info


def _nonblocking_opener(path: str, flags: int) -> int:
    return os.open(path, flags | _OPEN_FLAGS)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for binary reading, or raise an ``OSError`` at once.

    Never blocks on a FIFO and never returns a handle on a device: the caller
    can read it to the end knowing the end exists.
    """
    check_regular(path)
    handle = open(path, "rb", opener=_nonblocking_opener)  # noqa: SIM115 - returned
    try:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotRegularFileError(path)  # swapped for a FIFO after the stat
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(handle.fileno(), True)  # no effect on regular files; tidy
    except BaseException:
        handle.close()
        raise
    return handle


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """All bytes of a regular file of at most ``limit`` bytes, else ``FileTooLargeError``.

    At most ``limit + 1`` bytes are read, whatever the file claims its size is.
    """
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, limit)
    return data
