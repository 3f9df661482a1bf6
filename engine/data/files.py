"""Turning what the user dropped or typed (files and folders) into image files.

Folders are walked recursively in a stable, sorted order so that runs and
exports are reproducible. The walk is defensive because it runs over whatever
is on the user's disk: symlinked folders are followed but each real folder is
visited once (tracked by device and inode, so loops end), hidden and OS junk
entries are skipped, and a folder that cannot be listed is logged, reported to
``on_folder_error`` and skipped rather than ending the run.

The walk is a generator that holds one folder's listing per level of depth,
never the whole tree: a million files are yielded one at a time. Files found
by a walk are remembered (to skip a second name of one file) only when they
can have one, a hard link or a symlink; every other file lives in exactly one
real folder, which is walked once.

A file named explicitly is yielded whatever its extension, and even when it
does not exist: the caller then reports that file's own error (not found, not
an image, not a regular file) next to the other results instead of the file
silently vanishing. It is also yielded every time it is named, so each
argument gets its own result, even two names (hard links) of one file; only
what folder walks find is de-duplicated. Walks take regular files only: a
FIFO or device named ``x.jpg`` in a folder is skipped, never opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.core.jobs import CancelToken
from engine.data.images import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)

#: Entries operating systems leave in folders; compared case-insensitively.
JUNK_NAMES: frozenset[str] = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "__macosx"})

_WINDOWS_HIDDEN = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0x2) | getattr(
    stat, "FILE_ATTRIBUTE_SYSTEM", 0x4
)

#: Called with a folder that cannot be listed, its path relative to the argument, the error.
FolderErrorHandler = Callable[[Path, str, OSError], None]

# Entry kinds a listing keeps (name and kind only: a DirEntry costs twice the memory).
_FILE, _DIR, _OTHER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to work on: where it is, its path relative to the argument that found it
    (for ``--shard``), and its size and modification time (for ``--resume``); size and
    mtime are -1 when the file cannot be looked at."""

    path: Path
    relative: str
    size: int = -1
    mtime_ns: int = -1


def iter_image_files(
    paths: Iterable[str | os.PathLike[str]],
    cancel: CancelToken | None = None,
    on_folder_error: FolderErrorHandler | None = None,
) -> Iterator[Path]:
    """Yield each file named in ``paths`` and each image file found under its folders.

    Inside a folder, entries are taken in case-insensitive name order and
    sub-folders are descended where they fall in that order (like a tree
    view). Only regular files with an image extension are taken from folders,
    each once, skipping files already named or found; content is checked later
    by ``engine.data.images``. A file named explicitly is yielded each time it is
    named: the user asked for one result per argument.
    """
    for item in iter_inputs(paths, cancel, on_folder_error):
        yield item.path


def iter_inputs(
    paths: Iterable[str | os.PathLike[str]],
    cancel: CancelToken | None = None,
    on_folder_error: FolderErrorHandler | None = None,
) -> Iterator[InputFile]:
    """``iter_image_files`` with each file's relative path, size and mtime (one stat each)."""
    seen_files: set[Hashable] = set()
    seen_dirs: set[Hashable] = set()
    for raw in paths:
        if cancel is not None:
            cancel.raise_if_cancelled()
        path = Path(raw)
        if os.path.isdir(path):  # False, not an error, when it cannot be checked
            yield from _walk(path, seen_dirs, seen_files, cancel, on_folder_error)
            continue
        info = _stat(path)
        seen_files.add(_identity(path, info))
        yield _input(path, os.fspath(raw), info)


def shard_of(relative: str, count: int) -> int:
    """Which of ``count`` shards (0-based) a file belongs to: a hash of its relative path.

    BLAKE2b, not ``hash()``: the assignment must be the same in every process
    and on every machine, so N runs split one folder with no coordination.
    """
    key = relative.replace(os.sep, "/").encode("utf-8", "surrogateescape")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


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
    root: Path,
    seen_dirs: set[Hashable],
    seen_files: set[Hashable],
    cancel: CancelToken | None,
    on_error: FolderErrorHandler | None,
) -> Iterator[InputFile]:
    """Depth-first walk with an explicit stack, so deep trees cannot hit the recursion limit."""
    root_key = _identity(root, _stat(root))
    if root_key in seen_dirs:
        return
    seen_dirs.add(root_key)
    stack: list[tuple[Path, str, Iterator[tuple[str, int]]]] = [
        (root, "", iter(_list_dir(root, ".", on_error)))
    ]
    while stack:
        if cancel is not None:
            cancel.raise_if_cancelled()
        folder, prefix, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        name, kind = entry
        child = folder / name
        relative = prefix + name
        if kind == _DIR:
            _push(stack, child, relative, seen_dirs, on_error, _stat(child))
            continue
        if os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS and kind == _FILE:
            continue
        info = _stat(child)  # follows symlinks: what the name points at
        if info is None:
            continue
        if stat.S_ISDIR(info.st_mode):
            _push(stack, child, relative, seen_dirs, on_error, info)
        elif stat.S_ISREG(info.st_mode) and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
            key = _identity(child, info)
            if key in seen_files:
                continue
            if kind != _FILE or info.st_nlink > 1:  # it may have another name: remember it
                seen_files.add(key)
            yield _input(child, relative, info)


def _push(
    stack,
    child: Path,
    relative: str,
    seen_dirs: set[Hashable],
    on_error: FolderErrorHandler | None,
    info: os.stat_result | None,
) -> None:
    key = _identity(child, info)
    if key not in seen_dirs:
        seen_dirs.add(key)
        stack.append((child, relative + "/", iter(_list_dir(child, relative, on_error))))


def _list_dir(
    folder: Path, relative: str = ".", on_error: FolderErrorHandler | None = None
) -> list[tuple[str, int]]:
    """The folder's visible entries (name, kind) in a stable order, or none if it cannot be
    listed (then ``on_error`` hears of it)."""
    entries: list[tuple[str, int]] = []
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if is_hidden(entry) or entry.name.casefold() in JUNK_NAMES:
                    continue
                entries.append((entry.name, _kind(entry)))
    except OSError as error:
        log.warning("Skipping folder %s: %s", folder, error)
        if on_error is not None:
            on_error(folder, relative, error)
        return []
    entries.sort(key=lambda item: (item[0].casefold(), item[0]))
    return entries


def _kind(entry: os.DirEntry[str]) -> int:
    """From the directory listing alone where the OS says (no stat call); symlinks are
    looked at later, when they are reached."""
    try:
        if entry.is_symlink():
            return _OTHER
        if entry.is_dir(follow_symlinks=False):
            return _DIR
        if entry.is_file(follow_symlinks=False):
            return _FILE
    except OSError:
        pass
    return _OTHER


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _input(path: Path, relative: str, info: os.stat_result | None) -> InputFile:
    if info is None:
        return InputFile(path, relative)
    return InputFile(path, relative, info.st_size, info.st_mtime_ns)


def _identity(path: Path, info: os.stat_result | None) -> Hashable:
    """What makes two paths the same file or folder: device and inode, else the real path.

    Windows may report inode 0 on some file systems; the resolved, case-folded
    path is the fallback there and for paths that cannot be stat'ed.
    """
    if info is None:
        return os.path.normcase(os.path.abspath(path))
    if info.st_ino:
        return (info.st_dev, info.st_ino)
    return os.path.normcase(os.path.realpath(path))
