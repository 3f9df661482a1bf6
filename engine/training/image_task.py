"""Which image trainer a run takes: the built-in model's (``image``) or a local folder's
(``image_hf``). It sits above both so neither imports the other's dispatch."""

from __future__ import annotations

from engine.core.jobs import UserError
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.models.image_package import KIND_LINEAR
from engine.training.image import MSG_NOT_FOR_IMAGES, image_backbone, train_fast, train_finetune
from engine.training.image_hf import train_hf
from engine.training.run import Trained, TrainRun


def train_image(run: TrainRun) -> Trained:
    """The built-in model, or the local Hugging Face folder in ``config.backbone``."""
    mode = run.config.mode
    if mode not in ("fast", "finetune"):
        raise UserError(MSG_NOT_FOR_IMAGES, details=mode)
    if run.config.backbone:
        return train_hf(run)
    if mode == "fast":
        return train_fast(
            run, kind=KIND_LINEAR, backbone=image_backbone(), preprocess=lite0.preprocess_config()
        )
    return train_finetune(run)
