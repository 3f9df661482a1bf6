"""Taxon's engine: plain Python, no Qt. The GUI, the CLI and tests call it alike."""

__version__ = "0.1.0"

from engine.core.offline import enforce_offline_environment as _enforce_offline_environment

_enforce_offline_environment()
