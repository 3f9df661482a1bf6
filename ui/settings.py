"""Persistent user preferences, stored in an INI file in the user's config folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from engine.core.devices import DEVICE_CHOICES
from engine.core.paths import user_config_dir

LANGUAGE_KEY = "ui/language"
DEVICE_KEY = "compute/device"
GEOMETRY_KEY = "window/geometry"


def app_settings() -> QSettings:
    return QSettings(str(user_config_dir() / "settings.ini"), QSettings.Format.IniFormat)


def device_preference() -> str:
    """The compute device the user chose in Settings: auto, cpu, cuda or mps."""
    value = app_settings().value(DEVICE_KEY, "auto", type=str)
    return value if value in DEVICE_CHOICES else "auto"
