"""One way to get a fast pixels -> logits runner for any image network Taxon knows.

The built-in ImageNet model and every trained image package go the same road:
a cached, parity-checked ONNX Runtime export keyed by the weights' hash (loads
in ~0.1 s without importing torch), else PyTorch. ``build_model`` is called
only when an export must be made or PyTorch is the fallback, so a warm start
never builds the network at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from engine.i18n import N_, _
from engine.jobs import CancelToken, Progress, UserError, no_progress

log = logging.getLogger(__name__)

MSG_LOADING = N_("Loading the image model…")
MSG_OPTIMISING = N_("Preparing the image model for this computer (first use only)…")
MSG_ONNX_UNAVAILABLE = N_("The fast inference engine (ONNX Runtime) cannot be used.")


def load_image_runner(
    name: str,
    weights_sha256: str,
    build_model: Callable[[], Any],
    metadata: dict[str, Any] | Callable[[], dict[str, Any]],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
    check_metadata: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """(runner taking uint8 NHWC pixels, the metadata stored with the export).

    ``metadata`` may be a function, called only when an export is made.

    ``check_metadata`` may raise to reject a damaged cached sidecar: the export
    is then deleted and PyTorch used, and a fresh export is made next time.
    """
    from engine.backbones import onnx_runtime as rt
    from engine.backbones.efficientnet_lite0 import parity_samples

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    choice = rt.requested_backend(backend)
    progress(0, None, _(MSG_LOADING))
    model = None
    if choice != "torch" and not rt.onnxruntime_available():
        _onnx_unavailable(choice, "onnxruntime is not installed")
    elif choice != "torch":
        cached = rt.find_cached(name, weights_sha256)
        if cached is None:
            cancel.raise_if_cancelled()
            progress(0, None, _(MSG_OPTIMISING))
            model = rt.with_normalization(build_model(), mean, std)
            cancel.raise_if_cancelled()
            cached = rt.export_verified(name, weights_sha256, model, parity_samples(),
                                        _resolve(metadata), cancel)
        if cached:
            try:
                if check_metadata is not None:
                    check_metadata(cached.metadata)
                return rt.OrtRunner(cached.path), cached.metadata
            except Exception as error:  # a damaged cache: PyTorch now, a new export next time
                log.warning("Cannot use the ONNX export %s", cached.path, exc_info=True)
                cached.path.unlink(missing_ok=True)
                _onnx_unavailable(choice, f"{type(error).__name__}: {error}")
        else:
            _onnx_unavailable(choice, "the export failed its parity check")
    cancel.raise_if_cancelled()
    if model is None:
        model = rt.with_normalization(build_model(), mean, std)
    return rt.TorchRunner(model), _resolve(metadata)


def _resolve(metadata):
    return metadata() if callable(metadata) else metadata


def _onnx_unavailable(choice: str, reason: str) -> None:
    """Log the fallback to PyTorch, or raise when ONNX Runtime was asked for explicitly."""
    if choice == "onnx":
        raise UserError(MSG_ONNX_UNAVAILABLE, details=reason)
    log.info("Using PyTorch for inference: %s", reason)
