"""One rotating log file per user, shared by the GUI and the CLI.

Unexpected errors are written here with their traceback; the user is shown the
file's path instead of the traceback.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from engine.paths import user_log_dir

LOG_NAME = "taxon.log"
_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_file_path() -> Path:
    return user_log_dir() / LOG_NAME


def setup_logging(level: int = logging.INFO) -> Path:
    """Attach the rotating file handler once; returns the log file's path."""
    path = log_file_path()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return path
