"""Output folders the user names: never over their files, never half written.

``clean --out`` (and the window's save) put several files in one folder. A
folder that already holds something is refused, as is one that overlaps the
dataset's own folder (writing there would add to, or overwrite, the user's
data). The files are written into a hidden staging folder beside the target and
moved into place in one rename, so a failure leaves nothing behind. When the
system refuses a write, the message says why in terms the user can act on: a
read-only folder, a full disk or a missing folder each get their own hint.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from engine.core.atomic import publish_folder
from engine.core.i18n import N_
from engine.core.jobs import UserError

MSG_OUT_NOT_EMPTY = N_(
    "The folder {path} already holds files, which Taxon will not overwrite. Choose an empty or "
    "new folder."
)
MSG_OUT_IS_FILE = N_("{path} is a file, not a folder. Choose an empty or new folder.")
MSG_OUT_OVERLAPS = N_(
    "The output folder {path} overlaps the dataset's folder {dataset}. Choose a folder outside "
    "the dataset."
)
MSG_READ_ONLY = N_(
    "Taxon cannot write to {path}: the folder is read-only or you lack permission to change it. "
    "Choose another folder."
)
MSG_DISK_FULL = N_(
    "Could not save to {path}: the disk is full. Free some space or choose another folder."
)
MSG_NO_FOLDER = N_("Could not save to {path}: the folder {folder} does not exist.")
MSG_WRITE_ERROR = N_("Could not save to {path}.")

_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as text that always prints and encodes: undecodable bytes become ``\\xe9``."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_problem(error: OSError, path: str | os.PathLike[str]) -> UserError:
    """The ``UserError`` for a failed write, its hint matching what went wrong."""
    shown = display_path(path)
    details = f"{type(error).__name__}: {error}"
    if isinstance(error, PermissionError) or error.errno in _READ_ONLY:
        return UserError(MSG_READ_ONLY, details, path=shown)
    if error.errno in _FULL:
        return UserError(MSG_DISK_FULL, details, path=shown)
    if isinstance(error, FileNotFoundError) or error.errno == errno.ENOENT:
        folder = _first_missing(Path(path))
        return UserError(MSG_NO_FOLDER, details, path=shown, folder=display_path(folder))
    return UserError(MSG_WRITE_ERROR, details, path=shown)


def _first_missing(path: Path) -> Path:
    """The outermost folder of ``path`` that does not exist (what the user mistyped)."""
    missing = path.parent
    for parent in path.parents:
        if parent.exists():
            break
        missing = parent
    return missing


def check_writable(folder: str | os.PathLike[str]) -> None:
    """Probe ``folder`` with a throw-away file, so the refusal names the folder's problem
    rather than whatever a later write of some file in it would say."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise write_problem(error, folder) from error


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_new_output(out: str | os.PathLike[str], dataset: str | os.PathLike[str]) -> Path:
    """Refuse an output folder that exists with something in it, is a file, or overlaps the
    dataset's folder; nothing is created here. Returns the absolute folder."""
    target = Path(os.path.abspath(out))
    resolved = target.resolve()
    source = Path(os.path.abspath(dataset)).resolve()
    if source.is_dir() and (_inside(resolved, source) or _inside(source, resolved)):
        raise UserError(MSG_OUT_OVERLAPS, path=display_path(target), dataset=display_path(source))
    if resolved == source or (target.exists() and not target.is_dir()):
        raise UserError(MSG_OUT_IS_FILE, path=display_path(target))
    if target.is_dir():
        try:
            occupied = any(os.scandir(target))
        except OSError as error:
            raise write_problem(error, target) from error
        if occupied:
            raise UserError(MSG_OUT_NOT_EMPTY, path=display_path(target))
    return target


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``out``; when the block ends without an error it
    becomes ``out`` (which must be absent or empty), otherwise it is removed."""
    target = Path(os.path.abspath(out))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
    except OSError as error:
        raise write_problem(error, target) from error
    try:
        yield stage
        _publish(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _publish(stage: Path, target: Path) -> None:
    """Move the finished folder into place; a refusal names what went wrong."""
    try:
        publish_folder(stage, target)
    except OSError as error:
        if target.is_dir() and any(target.iterdir()):
            raise UserError(MSG_OUT_NOT_EMPTY, path=display_path(target)) from error
        raise write_problem(error, target) from error
