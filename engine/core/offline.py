"""Taxon never opens a network connection; these settings make the libraries agree.

They also keep libraries from writing outside Taxon's own folders: ONNX Runtime
(1.2x on Linux) otherwise creates a persistent device id and a telemetry event
queue under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` as soon as it is
imported; ``ORT_DISABLE_TELEMETRY`` is read at import, so it must be set first.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ORT_DISABLE_TELEMETRY": "1",
}


def enforce_offline_environment() -> None:
    """Set before transformers or huggingface_hub is imported (they read these at import)."""
    os.environ.update(OFFLINE_ENVIRONMENT)
