"""One way to get a fast pixels -> logits runner for any image network Taxon knows.

The built-in ImageNet model and every trained image package go the same road:
a cached, parity-checked ONNX Runtime export keyed by the weights' hash (loads
in ~0.1 s without importing torch), else PyTorch. ``build_model`` is called
only when an export must be made or PyTorch is the fallback, so a warm start
never builds the network at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.data.images import ImageReadError, decode_for_model
from engine.data.sample_photos import sample_photo_paths

log = logging.getLogger(__name__)

MSG_LOADING = N_("Loading the image model…")
#: The first-use preparation's steps, so a first start shows how far along it is.
MSG_STEPS = (
    N_(
        "Preparing the image model for this computer (first use only): "
        "building the network, step {step} of {steps}…"
    ),
    N_(
        "Preparing the image model for this computer (first use only): "
        "converting it, step {step} of {steps}…"
    ),
    N_(
        "Preparing the image model for this computer (first use only): "
        "checking the conversion, step {step} of {steps}…"
    ),
    N_(
        "Preparing the image model for this computer (first use only): "
        "loading it, step {step} of {steps}…"
    ),
)
MSG_ONNX_UNAVAILABLE = N_("The fast inference engine (ONNX Runtime) cannot be used.")


def _step(progress: Progress, number: int) -> None:
    """Step ``number`` (0-based) of the first-use preparation, as ``done`` of ``total``."""
    from engine.core.i18n import format_number

    progress(
        number,
        len(MSG_STEPS),
        _(MSG_STEPS[number]).format(
            step=format_number(number + 1), steps=format_number(len(MSG_STEPS))
        ),
    )


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
    from engine.models.backbones import onnx_runtime as rt

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    choice = rt.requested_backend(backend)
    progress(0, None, _(MSG_LOADING))
    model = None
    if choice != "torch" and not rt.onnxruntime_available():
        _onnx_unavailable(choice, "onnxruntime is not installed")
    elif choice != "torch":
        cached = rt.find_cached(name, weights_sha256)
        prepared = cached is None
        if prepared and _export_in_helper(
            name, weights_sha256, build_model, metadata, mean, std, progress, cancel
        ):
            cached = rt.find_cached(name, weights_sha256)
        if cached is None:
            cancel.raise_if_cancelled()
            _step(progress, 0)
            model = rt.with_normalization(build_model(), mean, std)
            cancel.raise_if_cancelled()
            _step(progress, 1)
            cached = rt.export_verified(
                name,
                weights_sha256,
                model,
                parity_samples(),
                _resolve(metadata),
                cancel,
                exported=lambda: _step(progress, 2),
            )
        if cached:
            try:
                if check_metadata is not None:
                    check_metadata(cached.metadata)
                if prepared:
                    _step(progress, 3)
                runner = rt.OrtRunner(cached.path)
                if prepared:
                    progress(len(MSG_STEPS), len(MSG_STEPS), _(MSG_LOADING))
                return runner, cached.metadata
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


def _export_in_helper(
    name: str,
    weights_sha256: str,
    build_model,
    metadata,
    mean,
    std,
    progress: Progress,
    cancel: CancelToken,
) -> bool:
    """Make the export in a helper process; False when it could not (then it is made here).

    Exporting imports ``onnx``, whose C++ extension holds Python's global lock for about a
    second while it loads, and builds the network with torch: in this process that would
    freeze the window however the work is threaded. The helper reports its steps back.
    On the main thread (the command line, a script) no other thread needs the lock, so
    the export is made here, as before.
    """
    import multiprocessing
    import pickle
    import threading

    from engine.core.workers import start_method

    if threading.current_thread() is threading.main_thread():
        return False
    try:
        pickle.dumps((build_model, metadata))
    except Exception:  # a closure: only this process can build the network
        return False
    # The helper may be forked from a server started earlier: give it today's folders.
    environment = {
        key: os.environ.get(key)
        for key in ("TAXON_HOME", "HOME", "APPDATA", "LOCALAPPDATA", "XDG_CACHE_HOME")
    }
    context = multiprocessing.get_context(start_method())
    receiver, sender = context.Pipe(duplex=False)
    helper = context.Process(
        target=_export_child,
        name="taxon-onnx-export",
        daemon=True,
        args=(
            sender,
            environment,
            name,
            weights_sha256,
            build_model,
            metadata,
            tuple(mean),
            tuple(std),
        ),
    )
    try:
        helper.start()
    except Exception:
        log.warning("Cannot start the export helper; exporting here", exc_info=True)
        return False
    sender.close()
    outcome: tuple[str, Any] = ("error", "the helper ended without an answer")
    try:
        while True:
            cancel.raise_if_cancelled()
            if receiver.poll(0.1):
                try:
                    kind, value = receiver.recv()
                except EOFError:
                    break
                if kind == "step":
                    _step(progress, value)
                    continue
                outcome = (kind, value)
                break
            if not helper.is_alive() and not receiver.poll(0):
                break
    finally:
        if helper.is_alive() and outcome[0] == "error":
            helper.terminate()  # cancelled, or it stopped answering
        helper.join(30)
        receiver.close()
    if outcome[0] == "error":
        log.warning("The export helper failed (%s); exporting here", outcome[1])
        return False
    return True


def _export_child(
    sender, environment, name, weights_sha256, build_model, metadata, mean, std
) -> None:
    """In the helper process: build, export, check and cache; steps and the end go back."""

    def send(message: tuple) -> None:
        try:
            sender.send(message)
        except OSError:  # the app is gone (or gave up): stop quietly
            raise SystemExit(0) from None

    try:
        for key, value in environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from engine.models.backbones import onnx_runtime as rt

        send(("step", 0))
        model = rt.with_normalization(build_model(), mean, std)
        send(("step", 1))
        rt.export_verified(
            name,
            weights_sha256,
            model,
            parity_samples(),
            _resolve(metadata),
            exported=lambda: send(("step", 2)),
        )
        send(("done", None))  # exported, or a failed check recorded in the cache
    except SystemExit:
        pass
    except BaseException as error:  # noqa: BLE001 - anything: the parent exports itself
        with contextlib.suppress(OSError):
            sender.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        sender.close()


def _resolve(metadata):
    return metadata() if callable(metadata) else metadata


def _onnx_unavailable(choice: str, reason: str) -> None:
    """Log the fallback to PyTorch, or raise when ONNX Runtime was asked for explicitly."""
    if choice == "onnx":
        raise UserError(MSG_ONNX_UNAVAILABLE, details=reason)
    log.info("Using PyTorch for inference: %s", reason)


#: Parity samples are model input at the ImageNet models' common size.
PARITY_SIZE = 224
PARITY_RESIZE_SHORTER = 256


def parity_samples() -> np.ndarray:
    """uint8 (N, 224, 224, 3) model input for checking an export against PyTorch.

    scikit-learn's two sample photos (found without importing scikit-learn)
    plus a gradient and a noise image. Real photos matter: noise barely
    exercises the confident logits where an export error would flip a label.
    """
    images = []
    for photo in sample_photo_paths():
        try:
            images.append(decode_for_model(photo, PARITY_SIZE, PARITY_RESIZE_SHORTER).pixels)
        except ImageReadError:
            log.debug("Skipping parity sample %s", photo)
    ramp = np.linspace(0, 255, PARITY_SIZE, dtype=np.float32)[None, :].repeat(PARITY_SIZE, 0)
    images.append(np.stack([ramp, ramp.T, 255 - ramp], -1).astype(np.uint8))
    noise = np.random.default_rng(0).integers(0, 256, (PARITY_SIZE, PARITY_SIZE, 3))
    images.append(noise.astype(np.uint8))
    return np.stack(images)
