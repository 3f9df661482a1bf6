"""One log file per user, shared by the GUI and the CLI.

Unexpected errors are written here with their traceback; the user is shown the
file's path instead of the traceback. The file is rotated when a process starts
(``taxon.log`` → ``taxon.log.1`` …), which keeps ``logging.handlers`` and its
imports off the start-up path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from engine.core.paths import user_log_dir

LOG_NAME = "taxon.log"
MAX_BYTES = 2_000_000
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_file_path() -> Path:
    return user_log_dir() / LOG_NAME


def _rotate(path: Path) -> None:
    if not path.exists() or path.stat().st_size < MAX_BYTES:
        return
    for index in range(BACKUPS - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{index + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))


def setup_logging(level: int = logging.INFO, *, rotate: bool = True) -> Path:
    """Attach the file handler once; returns the log file's path.

    Python warnings (Pillow's ``UserWarning`` and ``DecompressionBombWarning`` on
    odd images, library deprecations) go to the log too, not to the terminal.
    Worker processes pass ``rotate=False``: only the app rotates the file.
    """
    path = log_file_path()
    logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    if rotate:
        try:
            _rotate(path)
        except OSError:  # another Taxon process holds the file (Windows): rotate next time
            pass
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return path


def redirect_stderr_to_log() -> None:
    """Point this process's file descriptor 2 at the log file (decode workers).

    Native libraries such as libtiff write warnings straight to fd 2, out of
    reach of Python's logging; in a worker nobody reads that stream anyway.
    """
    descriptor = os.open(log_file_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(descriptor, 2)
    finally:
        os.close(descriptor)
