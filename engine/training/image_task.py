"""Which image trainer a run takes: the built-in model's (``image``) or a local folder's
(``image_hf``). It sits above both so neither imports the other's dispatch."""

from __future__ import annotations

from engine.core.devices import DeviceInfo
from engine.core.jobs import CancelToken, Progress, UserError
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.models.image_package import KIND_FINETUNED, KIND_LINEAR
from engine.training.checkpoint import CheckpointStore
from engine.training.config import TrainConfig, TrainControls
from engine.training.data import Prepared
from engine.training.image import MSG_NOT_FOR_IMAGES, image_backbone, train_fast, train_finetune
from engine.training.image_hf import train_hf

KINDS = {"fast": (KIND_LINEAR, train_fast), "finetune": (KIND_FINETUNED, train_finetune)}


def train_image(prepared: Prepared, config: TrainConfig, device: DeviceInfo,
                store: CheckpointStore | None, progress: Progress, cancel: CancelToken,
                controls: TrainControls | None, on_event, faults=None):
    """(prepared, outcome, tensors, kind, backbone, preprocess, extra files) for ``train``:
    the built-in model, or the local Hugging Face folder in ``config.backbone``."""
    if config.mode not in KINDS:
        raise UserError(MSG_NOT_FOR_IMAGES, details=config.mode)
    if config.backbone:
        return train_hf(prepared, config, device, store, progress, cancel, controls, on_event,
                        faults)
    kind, trainer = KINDS[config.mode]
    prepared, outcome, tensors = trainer(prepared, config, device, store, progress, cancel,
                                         controls, on_event, faults)
    return prepared, outcome, tensors, kind, image_backbone(), lite0.preprocess_config(), None
