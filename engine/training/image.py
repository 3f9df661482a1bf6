"""Image trainers: fast (a linear head on cached frozen features) and fine-tune.

Fast mode is the default because it is seconds, not minutes: features of the
built-in EfficientNet-Lite0 are computed once per file content (cached on
disk, shared with the data checks) and only a 1280 x classes head is trained.
Fine-tune trains the whole network, or only its top stages, on augmented
pixels; on CUDA with mixed precision, channels-last and pinned memory.
Fast trains its head like every task's (``engine.training.head``); fine-tune goes
through the fine-tune body all fine-tunes share (``engine.training.finetune``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.models.image_package import KIND_FINETUNED, new_network
from engine.training.data import Prepared
from engine.training.finetune import Network, finetune
from engine.training.run import Trained, TrainRun

log = logging.getLogger(__name__)

MSG_UNREADABLE = N_("This image could not be read.")
MSG_CHECKING = N_("Checking images…")
MSG_NOT_FOR_IMAGES = N_("This training mode is not available for images.")
#: Fine-tune with train_blocks="top" trains these (the last stages, the head conv, the classifier).
TOP_PREFIXES = ("blocks.5.", "blocks.6.", "conv_head.", "bn2.", "classifier.")


def image_backbone() -> dict[str, Any]:
    return {
        "id": lite0.BACKBONE_ID,
        "name": lite0.DISPLAY_NAME,
        "weights_sha256": lite0.weights_sha256(),
    }


# --------------------------------------------------------------------------- fast


def fast_features(
    prepared: Prepared, progress: Progress, cancel: CancelToken, compute=None
) -> tuple[Prepared, np.ndarray, np.ndarray]:
    """Features of every row (cached by content); rows whose file cannot be read are dropped.

    ``compute(paths, progress, cancel)``: the feature function (default: the built-in model's).
    """
    from engine.models.image_features import image_features

    compute = compute or image_features
    features = compute(prepared.train_items + prepared.val_items, progress, cancel)
    readable = ~np.isnan(features[:, 0])
    n_train = len(prepared.train_items)
    reasons = {
        item: _(MSG_UNREADABLE)
        for item, ok in zip(prepared.train_items + prepared.val_items, readable, strict=True)
        if not ok
    }
    kept = prepared.keep(readable[:n_train], readable[n_train:], reasons)
    return kept, features[:n_train][readable[:n_train]], features[n_train:][readable[n_train:]]


def train_fast(
    run: TrainRun, *, kind: str, backbone: dict[str, Any], preprocess: dict[str, Any], compute=None
) -> Trained:
    """A linear head on the features ``compute`` gives (default: the built-in model's)."""
    from engine.training.head import train_head

    prepared, train_x, val_x = fast_features(run.prepared, run.progress, run.cancel, compute)
    outcome, tensors = train_head(run.with_prepared(prepared), train_x, val_x)
    return Trained(prepared, outcome, tensors, kind, backbone, preprocess)


# --------------------------------------------------------------------------- fine-tune


def readable_images(prepared: Prepared, progress: Progress, cancel: CancelToken) -> Prepared:
    """Drop files that cannot be opened before a long run starts (header check, fast)."""
    from engine.data.images import verify_image

    items = prepared.train_items + prepared.val_items
    ok = np.ones(len(items), dtype=bool)
    reasons: dict[str, str] = {}
    for index, path in enumerate(items):
        if index % 64 == 0:
            cancel.raise_if_cancelled()
            progress(index, len(items), _(MSG_CHECKING))
        try:
            verify_image(path)  # regular files only, bounded size: never hangs on a FIFO
        except Exception:  # noqa: BLE001 - any failure means "cannot be read"
            ok[index] = False
            reasons[path] = _(MSG_UNREADABLE)
    n_train = len(prepared.train_items)
    return prepared.keep(ok[:n_train], ok[n_train:], reasons)


def train_finetune(run: TrainRun) -> Trained:
    """The built-in EfficientNet-Lite0 with a new classifier, on augmented pixels."""
    from engine.training.image_data import PictureBatches, PictureSet, loader_workers

    run = run.with_prepared(readable_images(run.prepared, run.progress, run.cancel))
    prepared, config, device = run.prepared, run.config, run.device

    def build() -> Network:
        model = new_network(len(prepared.labels))
        trainable = _choose_trainable(model, config.train_blocks)
        batches = PictureBatches(
            PictureSet(prepared.train_items, prepared.train_y, True, config),
            PictureSet(prepared.val_items, prepared.val_y, False, config),
            loader_workers(config, device.kind),
            pin=device.kind == "cuda",
            seed=config.seed,
        )
        return Network(
            model, trainable, batches, channels_last=device.kind == "cuda", close=batches.close
        )

    return finetune(
        run,
        build,
        kind=KIND_FINETUNED,
        backbone=image_backbone(),
        preprocess=lite0.preprocess_config(),
    )


def _choose_trainable(model, train_blocks: str) -> list[Any]:
    if train_blocks == "all":
        return [p for p in model.parameters()]
    trainable = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(TOP_PREFIXES))
        if parameter.requires_grad:
            trainable.append(parameter)
    return trainable
