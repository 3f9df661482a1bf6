"""Writing files so that a crash or a full disk never leaves half a file behind.

The data goes to a temporary file in the destination folder (same file system,
so the rename is atomic), is flushed and fsync'ed, and then replaces the
destination in one ``os.replace``. Readers see the old file or the new one,
never a mix. Errors are plain ``OSError``; callers that talk to the user turn
them into a ``UserError`` naming the file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

# Windows refuses to replace a file another program (antivirus, indexer) holds
# for a moment; a few short retries ride that out.
_REPLACE_RETRIES = 5
_REPLACE_DELAY_S = 0.1


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the folder must already exist.

    An existing file keeps its permission bits; a new one gets the usual
    permissions for the user's umask (not the 0600 of a temporary file).
    """
    target = Path(path)
    folder = target.parent
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_mode(target, temp_name)
        _replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(folder)


def _copy_mode(target: Path, temp_name: str) -> None:
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    with contextlib.suppress(OSError):
        os.chmod(temp_name, mode)


@functools.cache
def _umask() -> int:
    """The process umask, read once (reading it means briefly setting it)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def _replace(source: str, target: Path) -> None:
    for attempt in range(_REPLACE_RETRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == _REPLACE_RETRIES - 1:
                raise
            time.sleep(_REPLACE_DELAY_S)


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself (POSIX); best effort, the data is already safe."""
    if sys.platform == "win32":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
