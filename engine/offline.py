"""Taxon never opens a network connection; these settings make the libraries agree."""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def enforce_offline_environment() -> None:
    """Set before transformers or huggingface_hub is imported (they read these at import)."""
    os.environ.update(OFFLINE_ENVIRONMENT)
