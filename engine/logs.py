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

from engine.paths import user_log_dir

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


def setup_logging(level: int = logging.INFO) -> Path:
    """Attach the file handler once; returns the log file's path."""
    path = log_file_path()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        _rotate(path)
    except OSError:  # another Taxon process holds the file (Windows): rotate next time
        pass
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return path
