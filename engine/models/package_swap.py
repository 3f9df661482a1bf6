"""Putting a new model package where an old one was, so that no crash loses either.

Why this is more than one rename: a package is a folder, and no portable call
replaces a non-empty folder atomically. Where the OS can exchange two names in
one step (Linux ``renameat2(RENAME_EXCHANGE)``, macOS ``renamex_np(RENAME_SWAP)``)
the finished staging folder and the old package trade places and the old one,
now under the staging name, is removed. Elsewhere the old package is renamed
aside to ``.NAME.old-*`` first; a crash between the two renames leaves it
there, and the next save or load of that package (``recover``) puts it back.

Writers of one folder are serialised by a lock (``flock`` on the parent folder
on POSIX, a lock file on Windows), so two saves never interleave and a
``.NAME.tmp-*`` folder seen while holding the lock belongs to a dead writer and
is removed.

Files the user added to a package folder (notes, test images) are not part of
the package; they are carried into the new folder as hard links (copies where
links are not possible) before the exchange, so they survive every step.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.core.atomic import fsync_folder

log = logging.getLogger(__name__)

STAGING_TAG = ".tmp-"
OLD_TAG = ".old-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # Linux
_RENAME_SWAP = 2  # macOS renamex_np


class SwapIncomplete(OSError):
    """The old package was moved aside and could not be put back: it is at ``aside``."""

    def __init__(self, aside: Path, cause: BaseException) -> None:
        super().__init__(f"{cause}; the previous package is at {aside}")
        self.aside = aside


def staging_path(target: Path) -> Path:
    """A fresh hidden sibling of ``target`` (same file system, so renames are atomic)."""
    return target.with_name(f".{target.name}{STAGING_TAG}{uuid.uuid4().hex[:8]}")


# --------------------------------------------------------------------------- the lock


@contextlib.contextmanager
def target_lock(target: Path) -> Iterator[None]:
    """Hold the lock that serialises every writer of ``target``'s folder (blocking).

    Where the file system refuses locks (some network shares) this logs and goes
    on unlocked: the exchange itself is still atomic.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        from engine.core.file_lock import exclusive_lock

        with exclusive_lock(target.with_name(f".{target.name}.lock")):
            yield
        return
    import fcntl

    descriptor = os.open(target.parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError as error:
            log.warning("cannot lock %s (%s); saving without a lock", target.parent, error)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


# --------------------------------------------------------------------------- recovery


def _siblings(target: Path, tag: str) -> list[Path]:
    prefix = f".{target.name}{tag}"
    try:
        with os.scandir(target.parent) as entries:
            found = [Path(entry.path) for entry in entries if entry.name.startswith(prefix)]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)


def needs_recovery(target: Path) -> bool:
    """Whether a half-done swap or a dead writer's staging folder sits beside ``target``."""
    return bool(_siblings(target, OLD_TAG) or _siblings(target, STAGING_TAG))


def recover(target: Path, keep: Path | None = None) -> None:
    """Finish or undo a swap a crash interrupted; call with ``target_lock`` held.

    An old package set aside with nothing at ``target`` goes back (the new one was
    never complete there); one set aside behind a completed swap is removed, and
    so is every staging folder but ``keep``.
    """
    olds = _siblings(target, OLD_TAG)
    if olds and not target.exists():
        restored = olds.pop()  # the newest
        os.replace(restored, target)
        fsync_folder(target.parent)
        log.warning("restored %s from %s after an interrupted save", target, restored.name)
    for leftover in [*olds, *_siblings(target, STAGING_TAG)]:
        if keep is not None and leftover == keep:
            continue
        log.info("removing %s left by an interrupted save", leftover)
        _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


# --------------------------------------------------------------------------- user files


def carry_files(source: Path, staging: Path, names: Iterable[str]) -> None:
    """Put ``names`` (paths relative to ``source``) into ``staging``, as hard links when
    the file system allows, else as copies; empty folders come along too."""
    for name in names:
        origin, destination = source / name, staging / name
        if origin.is_dir() and not origin.is_symlink():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(origin, destination, follow_symlinks=False)
        except (OSError, NotImplementedError):
            shutil.copy2(origin, destination, follow_symlinks=False)


def unlisted_files(folder: Path, listed: set[str]) -> list[str]:
    """Every file and folder under ``folder`` that is not in ``listed`` (POSIX-style
    relative names), folders before their contents; folders that only hold listed
    files are left out."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        relative = Path(root).relative_to(folder)
        for name in dirs:
            path = (relative / name).as_posix()
            if not any(item.startswith(path + "/") for item in listed):
                found.append(path)
        found += [
            (relative / name).as_posix()
            for name in files
            if (relative / name).as_posix() not in listed
        ]
    return found


# --------------------------------------------------------------------------- the swap


def _between_renames() -> None:
    """A seam for tests: the moment a crash is most harmful in the two-rename fallback."""


def _after_exchange() -> None:
    """A seam for tests: the exchange is done, the old package not yet removed."""


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths' names in one atomic step; False where the OS cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    a, b = os.fsencode(first), os.fsencode(second)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(a, b, _RENAME_SWAP)
    else:
        return False
    if result == 0:
        return True
    log.debug("atomic exchange unavailable: %s", os.strerror(ctypes.get_errno()))
    return False


def swap_in(staging: Path, target: Path) -> None:
    """Make the complete folder ``staging`` the folder ``target``; call with the lock held.

    Raises ``OSError`` with nothing changed, or ``SwapIncomplete`` in the one case
    where the old package could not be put back. When it returns, the new names are
    on disk (the parent folder is fsync'ed).
    """
    _swap(staging, target)
    fsync_folder(target.parent)


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if exchange(staging, target):
        _after_exchange()
        _remove(staging)  # the old package now has the staging name
        return
    aside = target.with_name(f".{target.name}{OLD_TAG}{uuid.uuid4().hex[:8]}")
    os.replace(target, aside)
    try:
        _between_renames()
        os.replace(staging, target)
    except BaseException as error:
        try:
            os.replace(aside, target)
        except OSError:
            raise SwapIncomplete(aside, error) from error
        raise
    _remove(aside)
