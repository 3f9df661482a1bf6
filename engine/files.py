"""Turning what the user dropped or typed (files and folders) into image files.

Folders are walked recursively in a stable, sorted order so that runs and
exports are reproducible. The walk is defensive because it runs over whatever
is on the user's disk: symlinked folders are followed but each real folder is
visited once (so loops end), hidden and OS junk entries are skipped, and a
folder that cannot be listed is logged and skipped rather than ending the run.

A file named explicitly is yielded whatever its extension, and even when it
does not exist: the caller then reports that file's own error (not found, not
an image, not a regular file) next to the other results instead of the file
silently vanishing. It is also yielded every time it is named, so each
argument gets its own result, even two names (hard links) of one file; only
what folder walks find is de-duplicated. Walks take regular files only: a
FIFO or device named ``x.jpg`` in a folder is skipped, never opened.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path

from engine.images import IMAGE_EXTENSIONS
from engine.jobs import CancelToken

log = logging.getLogger(__name__)

#: Entries operating systems leave in folders; compared case-insensitively.
JUNK_NAMES: frozenset[str] = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "__macosx"})

_WINDOWS_HIDDEN = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0x2) | getattr(
    stat, "FILE_ATTRIBUTE_SYSTEM", 0x4
)


def iter_image_files(
    paths: Iterable[str | os.PathLike[str]], cancel: CancelToken | None = None
) -> Iterator[Path]:
    """Yield each file named in ``paths`` and each image file found under its folders.

    Inside a folder, entries are taken in case-insensitive name order and
    sub-folders are descended where they fall in that order (like a tree
    view). Only regular files with an image extension are taken from folders,
    each once, skipping files already named or found; content is checked later
    by ``engine.images``. A file named explicitly is yielded each time it is
    named: the user asked for one result per argument.
    """
    seen_files: set[Hashable] = set()
    seen_dirs: set[Hashable] = set()
    for raw in paths:
        if cancel is not None:
            cancel.raise_if_cancelled()
        path = Path(raw)
        if os.path.isdir(path):  # False, not an error, when it cannot be checked
            yield from _walk(path, seen_dirs, seen_files, cancel)
            continue
        seen_files.add(_identity(path))
        yield path


def is_hidden(entry: os.DirEntry[str]) -> bool:
    """Dot-names everywhere; on Windows also the hidden and system attributes."""
    if entry.name.startswith("."):
        return True
    if sys.platform == "win32":
        try:
            attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
        except OSError:
            return False
        return bool(attributes & _WINDOWS_HIDDEN)
    return False


def _walk(
    root: Path, seen_dirs: set[Hashable], seen_files: set[Hashable], cancel: CancelToken | None
) -> Iterator[Path]:
    """Depth-first walk with an explicit stack, so deep trees cannot hit the recursion limit."""
    root_key = _identity(root)
    if root_key in seen_dirs:
        return
    seen_dirs.add(root_key)
    stack: list[tuple[Path, Iterator[os.DirEntry[str]]]] = [(root, iter(_list_dir(root)))]
    while stack:
        if cancel is not None:
            cancel.raise_if_cancelled()
        folder, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if is_hidden(entry) or entry.name.casefold() in JUNK_NAMES:
            continue
        child = folder / entry.name
        try:
            is_dir = entry.is_dir()  # follows symlinks
            is_file = not is_dir and entry.is_file()  # S_ISREG: FIFOs and devices are not
        except OSError:
            continue
        if is_dir:
            key = _identity(child)
            if key not in seen_dirs:
                seen_dirs.add(key)
                stack.append((child, iter(_list_dir(child))))
        elif is_file and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
            key = _identity(child)
            if key not in seen_files:
                seen_files.add(key)
                yield child


def _list_dir(folder: Path) -> list[os.DirEntry[str]]:
    """The folder's entries in a stable order, or none if it cannot be listed."""
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
    except OSError as error:
        log.warning("Skipping folder %s: %s", folder, error)
        return []
    entries.sort(key=lambda entry: (entry.name.casefold(), entry.name))
    return entries


def _identity(path: Path) -> Hashable:
    """What makes two paths the same file or folder: device and inode, else the real path.

    Windows may report inode 0 on some file systems; the resolved, case-folded
    path is the fallback there and for paths that cannot be stat'ed.
    """
    try:
        info = os.stat(path)
    except OSError:
        return os.path.normcase(os.path.abspath(path))
    if info.st_ino:
        return (info.st_dev, info.st_ino)
    return os.path.normcase(os.path.realpath(path))
