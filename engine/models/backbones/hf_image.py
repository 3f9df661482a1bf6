"""Local Hugging Face image models (ViT, ConvNeXt, Swin...) as backbones and classifiers.

The folder is validated first (``engine.models.backbones.local_folder``) and loaded
with ``AutoModel``/``AutoImageProcessor``: offline, safetensors only, no custom
code. Its processor says how big the pictures are and how they are normalised;
that becomes the same ``PreprocessConfig`` the built-in model uses (decode,
resize the shorter side, centre crop), and the normalisation runs here on those
pixels, so features at training time and predictions later see identical input.

A feature is the model's ``pooler_output`` when the folder holds trained pooler
weights, else the mean of the last hidden state over tokens (or space, for
convolutional models). A pooler that the folder lacks would be initialised at
random, so it is never used, and any other missing weight is refused: features
must be a function of the folder's files, or the cache would lie.

Features are cached per model (``LocalModel.id``) and file content, as the
built-in model's are; packages are ``image-hf-linear`` (a head on the folder,
which must still be there, unchanged) and ``image-hf-finetuned`` (the whole
network plus its config, independent of the folder), loaded as classifiers by
``engine.models.backbones.hf_image_classifier``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.vector_cache import VectorCache
from engine.models.backbones.local_folder import (
    LOAD_ERRORS,
    LocalModel,
    inspect_folder,
    load_failed,
    quiet_transformers,
)
from engine.models.image_features import image_digests

log = logging.getLogger(__name__)

__all__ = [
    "ImageBackbone",
    "hf_image_features",
    "image_settings",
    "load_backbone",
    "shared_backbone",
]

CACHE_FORMAT = 1
#: Package kinds trained on a local Hugging Face folder: a head on it, or the whole network.
KIND_HF_LINEAR = "image-hf-linear"
KIND_HF_FINETUNED = "image-hf-finetuned"
BATCH_SIZE = 16
WAVE_SIZE = 256

MSG_LOADING = N_("Loading the image model…")
MSG_COMPUTING = N_("Computing image features…")
MSG_INCOMPLETE = N_(
    "The model in “{path}” lacks some of its weights, so it would give random results."
)

_backbones_lock = threading.Lock()
_backbones: dict[tuple[str, str], ImageBackbone] = {}


# --------------------------------------------------------------------------- the backbone


def _size_value(size: Any, key: str) -> int | None:
    value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
    return int(value) if isinstance(value, (int, float)) and value else None


def preprocess_settings(processor: Any, image_size: int | None = None) -> dict[str, Any]:
    """The processor's resize, crop and normalisation as a package's ``preprocess`` dict."""
    size = getattr(processor, "size", None)
    if isinstance(size, int):
        size = {"shortest_edge": size}
    height, width = _size_value(size, "height"), _size_value(size, "width")
    shortest = _size_value(size, "shortest_edge")
    crop = (
        getattr(processor, "crop_size", None)
        if getattr(processor, "do_center_crop", False)
        else None
    )
    side = _size_value(crop, "height") if crop is not None else None
    if side is not None:
        shorter = shortest or min(height or side, width or side)
    elif shortest is not None:
        crop_pct = getattr(processor, "crop_pct", None)
        side = shortest
        shorter = int(shortest / crop_pct) if crop_pct and shortest < 384 else shortest
    elif height is not None:
        side = shorter = min(height, width or height)
    else:
        side = shorter = int(image_size or 224)
    rescale = float(processor.rescale_factor) if getattr(processor, "do_rescale", True) else 1.0
    normalize = getattr(processor, "do_normalize", True)
    mean = [float(v) for v in processor.image_mean] if normalize else [0.0, 0.0, 0.0]
    std = [float(v) for v in processor.image_std] if normalize else [1.0, 1.0, 1.0]
    return {
        "size": int(side),
        "resize_shorter": int(max(shorter, side)),
        "mean": mean,
        "std": std,
        "rescale_factor": rescale,
        "interpolation": "bicubic",
    }


def to_pixel_values(pixels: np.ndarray, settings: dict[str, Any], device: Any = "cpu") -> Any:
    """uint8 NHWC pixels -> the normalised float NCHW tensor the network expects."""
    import torch

    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) pixels, got {pixels.shape}")
    values = torch.from_numpy(np.ascontiguousarray(pixels)).to(device).permute(0, 3, 1, 2).float()
    mean = torch.tensor(settings["mean"], device=device).view(1, 3, 1, 1)
    std = torch.tensor(settings["std"], device=device).view(1, 3, 1, 1)
    return (values * float(settings.get("rescale_factor", 1 / 255)) - mean) / std


def pool(output: Any, use_pooler: bool) -> Any:
    """(N, D) features from a model output: the pooler's, else the mean over tokens/space."""
    pooled = getattr(output, "pooler_output", None) if use_pooler else None
    if pooled is None:
        hidden = output.last_hidden_state
        pooled = hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=(2, 3))
    return pooled.reshape(pooled.shape[0], -1)


@dataclass
class ImageBackbone:
    """A loaded local image model: network (eval mode, on ``device``) and its preprocessing."""

    model: LocalModel
    network: Any
    settings: dict[str, Any]
    use_pooler: bool
    device: Any
    width: int = 0

    def features(self, pixels: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
        """(N, width) features; ``cancel`` is also checked between blocks (a batch of a large
        model on a CPU takes seconds)."""
        import torch

        def check(*_args: Any) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()

        hooks = [
            module.register_forward_pre_hook(check)
            for name, module in self.network.named_modules()
            if 0 < name.count(".") <= 2
        ]
        try:
            with torch.inference_mode():
                values = to_pixel_values(pixels, self.settings, self.device)
                output = self.network(pixel_values=values)
                return pool(output, self.use_pooler).float().cpu().numpy()
        finally:
            for hook in hooks:
                hook.remove()


def image_settings(model: LocalModel) -> dict[str, Any]:
    """The preprocessing of a validated image folder, from its ``AutoImageProcessor``."""
    from transformers import AutoConfig, AutoImageProcessor

    try:
        with quiet_transformers():
            processor = AutoImageProcessor.from_pretrained(
                model.path, local_files_only=True, trust_remote_code=False
            )
            config = AutoConfig.from_pretrained(
                model.path, local_files_only=True, trust_remote_code=False
            )
        return preprocess_settings(processor, getattr(config, "image_size", None))
    except LOAD_ERRORS as error:
        raise load_failed(model.path, error) from error


def load_backbone(model: LocalModel, device: str = "cpu") -> ImageBackbone:
    """``AutoModel`` + ``AutoImageProcessor`` of a validated image folder."""
    import torch
    from transformers import AutoModel

    settings = image_settings(model)
    try:
        with quiet_transformers():
            network, info = AutoModel.from_pretrained(
                model.path,
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
                output_loading_info=True,
            )
    except LOAD_ERRORS as error:
        raise load_failed(model.path, error) from error
    missing = sorted(info.get("missing_keys") or [])
    if any(not key.startswith("pooler.") for key in missing):
        raise UserError(
            MSG_INCOMPLETE, details="missing: " + ", ".join(missing)[:1500], path=str(model.path)
        )
    backbone = ImageBackbone(
        model,
        network.to(torch.device(device)).eval(),
        settings,
        use_pooler=not missing,
        device=torch.device(device),
    )
    side = settings["size"]
    backbone.width = int(backbone.features(np.zeros((1, side, side, 3), np.uint8)).shape[1])
    return backbone


def shared_backbone(model: LocalModel, device: str = "cpu") -> ImageBackbone:
    """``load_backbone``, loaded once per (model id, device) and kept."""
    key = (model.id, device)
    with _backbones_lock:
        if key not in _backbones:
            _backbones[key] = load_backbone(model, device)
        return _backbones[key]


def release_backbones() -> None:
    with _backbones_lock:
        _backbones.clear()


# --------------------------------------------------------------------------- the feature cache


def cache_folder(model: LocalModel) -> Path:
    from engine.core.paths import user_cache_dir

    folder = user_cache_dir() / "hf-image-features" / f"{model.id}-v{CACHE_FORMAT}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- the job


def _decode(path: str, settings: dict[str, Any]) -> np.ndarray | None:
    """Model pixels of one file, or None when it cannot be decoded."""
    from engine.data.images import ImageReadError, decode_for_model

    try:
        return decode_for_model(path, settings["size"], settings["resize_shorter"]).pixels
    except ImageReadError:
        return None
    except Exception:  # noqa: BLE001 - one odd file must not stop the others
        log.warning("Cannot decode %s for features", path, exc_info=True)
        return None


def hf_image_features(
    folder: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """(len(paths), D) float32 pooled features of the local image model in ``folder``.

    Rows of files that cannot be read or decoded are NaN. Cached by model id and
    file content; new features are computed in batches of 16 and cached per
    wave, so a cancelled run keeps what it finished.
    """
    cancel = cancel or CancelToken()
    model = inspect_folder(folder, "image", progress, cancel)
    names = [os.fspath(path) for path in paths]
    digests = image_digests(names, progress, cancel)  # threaded, remembered per (path, size, mtime)
    store = cache_folder(model)
    stored = VectorCache.stored_width(store)
    cached = VectorCache(store, stored).lookup(digests) if stored else None
    found = {
        row: cached[row]
        for row in range(len(digests))
        if cached is not None and not np.isnan(cached[row, 0])
    }
    first_of: dict[str, int] = {}
    for row, digest in enumerate(digests):
        if digest is not None and row not in found:
            first_of.setdefault(digest, row)
    unique = list(first_of.values())
    width = len(next(iter(found.values()))) if found else 0
    if unique:
        progress(0, len(unique), _(MSG_LOADING))
        backbone = shared_backbone(model, device)
        width = backbone.width
        last = time.monotonic()
        for start in range(0, len(unique), WAVE_SIZE):
            wave = unique[start : start + WAVE_SIZE]
            good, vectors = [], []
            for first in range(0, len(wave), BATCH_SIZE):
                rows, pixels = [], []
                for offset, row in enumerate(wave[first : first + BATCH_SIZE]):
                    cancel.raise_if_cancelled()
                    decoded = _decode(names[row], backbone.settings)
                    if decoded is not None:
                        rows.append(row)
                        pixels.append(decoded)
                    if time.monotonic() - last >= 0.25:
                        last = time.monotonic()
                        progress(start + first + offset, len(unique), _(MSG_COMPUTING))
                if pixels:
                    vectors.append(backbone.features(np.stack(pixels), cancel))
                    good += rows
            computed = np.concatenate(vectors) if vectors else np.zeros((0, width), np.float32)
            found.update(zip(good, computed, strict=True))
            VectorCache(store, width).store([digests[row] for row in good], computed)  # type: ignore[misc]
    if not width and names:  # nothing cached and nothing readable: the width still matters
        width = shared_backbone(model, device).width
    out = np.full((len(names), width), np.nan, dtype=np.float32)
    for row, digest in enumerate(digests):
        source = row if row in found else first_of.get(digest, -1) if digest else -1
        if source in found:
            out[row] = found[source]
    progress(len(names), len(names), _(MSG_COMPUTING))
    return out
