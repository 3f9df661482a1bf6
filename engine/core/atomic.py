"""Writing files and folders so that a crash or a full disk never leaves half of one behind.

The primitives every writer in Taxon shares (one copy each):

- ``write_atomic``: the data goes to a temporary file in the destination folder
  (same file system, so the rename is atomic), is flushed and fsync'ed, and then
  replaces the destination in one ``os.replace``. Readers see the old file or the
  new one, never a mix.
- ``write_synced``: a file inside a folder that is itself published later (a
  staging folder), written and fsync'ed so the publish never exposes lost data.
- ``fsync_folder``: persist a rename or a new entry (POSIX), best effort.
- ``publish_folder``: a finished staging folder becomes the target folder in one
  rename, with the permissions of a normal new folder.
- ``write_user_file``: ``write_atomic`` for a file the user chose; a refusal is a
  ``UserError`` naming the file.

Errors other than ``write_user_file``'s are plain ``OSError``; callers that talk
to the user turn them into a ``UserError`` naming the file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from engine.core.i18n import N_
from engine.core.jobs import UserError

# Windows refuses to replace a file another program (antivirus, indexer) holds
# for a moment; a few short retries ride that out.
_REPLACE_RETRIES = 5
_REPLACE_DELAY_S = 0.1

MSG_WRITE_PERMISSION = N_(
    "Could not save {name}: permission denied. If the file is open in another program, "
    "close it and try again."
)
MSG_WRITE_FAILED = N_("Could not save {name}.")


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
            _write_and_sync(handle, data)
        _copy_mode(target, temp_name)
        _replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_folder(folder)


def write_user_file(path: str | os.PathLike[str], data: bytes) -> None:
    """``write_atomic`` for a file the user named (an export, a saved table): a refusal
    becomes a ``UserError`` naming the file, with a hint where permission is the cause
    (the usual one: the file is open in a spreadsheet)."""
    target = Path(path)
    name = target.name or str(target)
    try:
        write_atomic(target, data)
    except PermissionError as error:
        raise UserError(MSG_WRITE_PERMISSION, str(error), name=name) from error
    except OSError as error:
        raise UserError(MSG_WRITE_FAILED, str(error), name=name) from error


def write_synced(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a new file and fsync it: for files in a staging folder, which
    becomes visible only when published, so the file needs no rename of its own."""
    with open(path, "wb") as handle:
        _write_and_sync(handle, data)


def _write_and_sync(handle: BinaryIO, data: bytes) -> None:
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Persist the renames and new entries in ``folder`` (POSIX); best effort, since the
    data itself is already safe. Windows has no folder fsync, and needs none."""
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


def publish_folder(stage: Path, target: Path) -> None:
    """Make the finished folder ``stage`` the folder ``target`` (absent or empty) in one
    rename, with the permissions of a normal new folder (not ``mkdtemp``'s 0700).

    Raises ``OSError`` with ``stage`` left in place; an empty ``target`` is removed
    first, and the rename fails if something appeared in it since it was checked.
    """
    os.chmod(stage, 0o777 & ~_umask())
    if target.is_dir():
        target.rmdir()  # empty, as the caller checked; fails if something appeared since
    os.rename(stage, target)
    fsync_folder(target.parent)


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
