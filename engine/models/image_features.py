"""Image embeddings from the built-in EfficientNet-Lite0, cached on disk.

The data checks (near duplicates, likely label errors) and the fast trainer all
need one 1280-wide feature vector per image, and computing them is the slow part
(decoding plus the network). So features are cached in
``user_cache_dir()/features/<backbone>-<weights sha>-v<format>/``, keyed by the
file's *content* hash: a renamed, moved or copied file is not computed again, an
edited one is. Shards are pairs of ``.npy`` files (keys, float32 features) written
atomically, one per wave of new images, and merged when they become many.

Pixels come from ``engine.data.images.decode_for_model`` with the backbone's own
preprocessing, exactly as classifying does, so features computed here match
features computed at prediction time. Decoding runs in worker processes
(``engine.data.image_pool``); the network runs here, through an ONNX Runtime export of
the feature extractor when possible (verified against PyTorch like the
classifier's export), else PyTorch.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.paths import user_cache_dir
from engine.core.vector_cache import VectorCache
from engine.data.image_pool import digest_files, map_files, recall_digest, remember_digests
from engine.data.images import ImageReadError, decode_for_model

log = logging.getLogger(__name__)

__all__ = [
    "FEATURE_DIM",
    "cache_folder",
    "cached_features",
    "feature_backbone_id",
    "image_features",
]

FEATURE_DIM = 1280
CACHE_FORMAT = 1
#: The ONNX export of the feature extractor (the classifier's export has the head).
EXPORT_SUFFIX = "features"
#: Images per forward pass, and images decoded per wave (bounds memory to ~40 MB).
BATCH_SIZE = 16
WAVE_SIZE = 256

MSG_HASHING = N_("Checking image files…")
MSG_PREPARING = N_("Preparing the image model…")
MSG_COMPUTING = N_("Computing image features…")

UNDECODABLE = "undecodable"
#: Content hashes that failed to decode this session: not tried again.
_undecodable: set[str] = set()
_runner_lock = threading.Lock()
_runners: dict[str, Any] = {}


def feature_backbone_id() -> str:
    """Backbone id + weights hash: what the cached features depend on."""
    from engine.models.backbones.efficientnet_lite0 import BACKBONE_ID, weights_sha256

    return f"{BACKBONE_ID}-{weights_sha256()[:16]}"


def cache_folder() -> Path:
    folder = user_cache_dir() / "features" / f"{feature_backbone_id()}-v{CACHE_FORMAT}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- the disk cache


def cached_features(digests: Sequence[str | None]) -> np.ndarray:
    """Features already cached for these content hashes (NaN rows where none), without
    computing anything; all NaN when the built-in model is not installed."""
    out_shape = (len(digests), FEATURE_DIM)
    try:
        folder = cache_folder()
    except (UserError, OSError):
        return np.full(out_shape, np.nan, dtype=np.float32)
    return VectorCache(folder, FEATURE_DIM).lookup(list(digests))


# --------------------------------------------------------------------------- the network


def _load_runner(backend: str | None, cancel: CancelToken):
    """ONNX Runtime on a verified export of the feature extractor, else PyTorch."""
    from engine.models.backbones import efficientnet_lite0 as lite0
    from engine.models.backbones.image_runner import load_image_runner

    runner, _metadata = load_image_runner(
        f"{lite0.BACKBONE_ID}-{EXPORT_SUFFIX}",
        lite0.weights_sha256(),
        lite0.load_feature_extractor,
        {"preprocess": lite0.preprocess_config(), "features": FEATURE_DIM},
        lite0.MEAN,
        lite0.STD,
        cancel=cancel,
        backend=backend,
    )
    return runner


def _runner(backend: str | None, cancel: CancelToken):
    """The feature network, loaded once per backend and kept (loading takes seconds)."""
    from engine.models.backbones import onnx_runtime as rt

    choice = rt.requested_backend(backend)
    with _runner_lock:
        if choice not in _runners:
            _runners[choice] = _load_runner(choice, cancel)
        return _runners[choice]


# --------------------------------------------------------------------------- the job


def decode_files(paths: list[str]) -> list[np.ndarray | str | None]:
    """Model pixels (224×224×3 uint8) of each file; ``UNDECODABLE`` when the file is not
    a usable image (the same bytes always fail), None after an unexpected error (a
    worker task; the reason is the checks' business, not the features')."""
    from engine.models.backbones.efficientnet_lite0 import INPUT_SIZE, RESIZE_SHORTER

    out: list[np.ndarray | str | None] = []
    for path in paths:
        try:
            out.append(decode_for_model(path, INPUT_SIZE, RESIZE_SHORTER).pixels)
        except ImageReadError:
            out.append(UNDECODABLE)
        except Exception:
            log.warning("Cannot decode %s for features", path, exc_info=True)
            out.append(None)
    return out


def _no_pixels(path: str) -> None:
    return None


def image_digests(paths: list[str], progress: Progress, cancel: CancelToken) -> list[str | None]:
    """Content hash of each file (remembered ones are not read again); threads suffice,
    hashing releases the GIL and never runs a decoder."""
    out: list[str | None] = [recall_digest(path) for path in paths]
    todo = [i for i, digest in enumerate(out) if digest is None]
    if not todo:
        return out
    chunks = [todo[i : i + 64] for i in range(0, len(todo), 64)]
    with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as threads:
        futures = [threads.submit(digest_files, [paths[i] for i in chunk]) for chunk in chunks]
        done = 0
        for chunk, future in zip(chunks, futures, strict=True):
            while True:
                try:
                    results = future.result(timeout=0.2)
                    break
                except TimeoutError:
                    if cancel.cancelled:
                        for other in futures:
                            other.cancel()
                    cancel.raise_if_cancelled()
            remember_digests(results)
            for index, (_key, digest) in zip(chunk, results, strict=True):
                out[index] = digest
            done += len(chunk)
            progress(done, len(todo), _(MSG_HASHING))
    return out


def image_features(
    paths: Sequence[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    backend: str | None = None,
) -> np.ndarray:
    """(len(paths), 1280) float32 pooled features of the built-in image model.

    Rows of files that cannot be read or decoded are NaN. Cached features are
    reused (by content hash); new ones are computed in waves (decode in worker
    processes, then the network in batches) and cached wave by wave, so a
    cancelled run keeps what it finished. ``backend``: "auto", "onnx" or "torch"
    (default: ``TAXON_INFERENCE_BACKEND``, else auto).
    """
    cancel = cancel or CancelToken()
    names = [os.fspath(path) for path in paths]
    digests = image_digests(names, progress, cancel)
    folder = cache_folder()
    cache = VectorCache(folder, FEATURE_DIM)
    out = cache.lookup(digests)
    todo = [
        i
        for i, digest in enumerate(digests)
        if digest is not None and digest not in _undecodable and np.isnan(out[i, 0])
    ]
    if not todo:
        progress(len(names), len(names), _(MSG_COMPUTING))
        return out
    # Identical files are computed once.
    first_of: dict[str, int] = {}
    for i in todo:
        first_of.setdefault(digests[i], i)  # type: ignore[arg-type]
    unique = list(first_of.values())
    progress(0, len(unique), _(MSG_PREPARING))
    runner = _runner(backend, cancel)
    for start in range(0, len(unique), WAVE_SIZE):
        wave = unique[start : start + WAVE_SIZE]

        def report(done: int, total: int | None, message: str, _base: int = start) -> None:
            progress(_base + done, len(unique), message)

        pixels = map_files(
            decode_files, [names[i] for i in wave], report, cancel, MSG_COMPUTING, _no_pixels
        )
        good = [i for i, p in zip(wave, pixels, strict=True) if isinstance(p, np.ndarray)]
        stack = [p for p in pixels if isinstance(p, np.ndarray)]
        _undecodable.update(
            digests[i]
            for i, p in zip(wave, pixels, strict=True)  # type: ignore[misc]
            if isinstance(p, str)
        )
        computed = np.zeros((len(good), FEATURE_DIM), dtype=np.float32)
        for first in range(0, len(good), BATCH_SIZE):
            cancel.raise_if_cancelled()
            batch = np.stack(stack[first : first + BATCH_SIZE])
            computed[first : first + len(batch)] = np.asarray(runner(batch), dtype=np.float32)
        out[good] = computed
        cache.store([digests[i] for i in good], computed)  # type: ignore[misc]
    for i in todo:  # copies of a file computed above
        out[i] = out[first_of[digests[i]]]  # type: ignore[index]
    progress(len(unique), len(unique), _(MSG_COMPUTING))
    return out
