"""Where Taxon finds its own files and keeps the user's.

Shipped files (catalogs, icons, samples) live beside the code in a checkout and
under ``sys._MEIPASS`` in a PyInstaller bundle; user files live in the platform's
per-user folders so that uninstalling the app never touches them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Taxon"
APP_AUTHOR = "Taxon"


def app_root() -> Path:
    """The folder that holds ``translations/`` and ``resources/``."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[2]  # engine/core/paths.py -> the project


def translations_dir() -> Path:
    return app_root() / "translations"


def resources_dir() -> Path:
    return app_root() / "resources"


def _user_dir(kind: str) -> Path:
    """A per-user folder; ``TAXON_HOME`` relocates all of them (tests, portable use)."""
    override = os.environ.get("TAXON_HOME")
    if override:
        path = Path(override) / kind
    else:
        getter = {
            "data": platformdirs.user_data_dir,
            "cache": platformdirs.user_cache_dir,
            "logs": platformdirs.user_log_dir,
            "config": platformdirs.user_config_dir,
        }[kind]
        path = Path(getter(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    return _user_dir("data")


def user_cache_dir() -> Path:
    return _user_dir("cache")


def user_log_dir() -> Path:
    return _user_dir("logs")


def user_config_dir() -> Path:
    return _user_dir("config")
