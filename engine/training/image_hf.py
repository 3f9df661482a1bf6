"""Training image models on a local Hugging Face folder (``TrainConfig.backbone``).

- **Fast**: the folder's pooled features (``engine.models.backbones.hf_image``, cached
  per model and file content) and a linear head, trained exactly like the
  built-in model's head; the package (``image-hf-linear``) holds the head and
  points at the folder by path and weights hash.
- **Fine-tune**: ``AutoModelForImageClassification`` from the folder with a new
  head of the run's classes, trained through the shared loop on pixels decoded
  and normalised as the folder's image processor says (augmented like the
  built-in fine-tune). The package (``image-hf-finetuned``) holds the whole
  state dict with ``config.json`` and ``preprocessor_config.json``, so it works
  without the original folder.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from engine.core.jobs import UserError
from engine.models.backbones.hf_image import (
    KIND_HF_FINETUNED,
    KIND_HF_LINEAR,
    hf_image_features,
    image_settings,
)
from engine.models.backbones.local_folder import (
    LOAD_ERRORS,
    PROCESSOR,
    LocalModel,
    load_failed,
    quiet_transformers,
)
from engine.training.config import TrainConfig
from engine.training.finetune import Network, finetune
from engine.training.image import MSG_NOT_FOR_IMAGES, readable_images, train_fast
from engine.training.image_data import IGNORE, PictureBatches, PictureSet, loader_workers
from engine.training.run import Trained, TrainRun

#: Of the network's largest stack of blocks, "top" fine-tuning trains this last fraction.
TOP_FRACTION = 0.25


def backbone_info(model: LocalModel) -> dict[str, Any]:
    """What the manifest says about the starting point (and how a head finds it again)."""
    return {
        "id": model.id,
        "name": model.name,
        "kind": "local",
        "path": str(model.path),
        "weights_sha256": model.weights_sha256,
        "model_type": model.model_type,
    }


# --------------------------------------------------------------------------- pixels


class HFPictureSet(PictureSet):
    """``PictureSet`` at the folder's picture size, normalised as its image processor says."""

    def __init__(
        self,
        items: list[str],
        labels: np.ndarray,
        train: bool,
        config: TrainConfig,
        settings: dict[str, Any],
    ) -> None:
        super().__init__(items, labels, train, config, settings["size"], settings["resize_shorter"])
        self.settings = dict(settings)

    def __getitem__(self, index: int):
        from engine.models.backbones.hf_image import to_pixel_values

        side = self.settings["size"]
        try:
            pixels = self.pixels(index)
            label = int(self.labels[index])
        except Exception:  # noqa: BLE001 - a file that broke since the pre-check
            pixels = np.zeros((side, side, 3), np.uint8)
            label = IGNORE
        return to_pixel_values(pixels[None], self.settings)[0], label


# --------------------------------------------------------------------------- fine-tune


def _classification_network(model: LocalModel, labels: list[str]):
    from transformers import AutoModelForImageClassification

    try:
        with quiet_transformers():
            return AutoModelForImageClassification.from_pretrained(
                model.path,
                num_labels=len(labels),
                ignore_mismatched_sizes=True,
                id2label=dict(enumerate(labels)),
                label2id={k: i for i, k in enumerate(labels)},
                use_safetensors=True,
                local_files_only=True,
                trust_remote_code=False,
            )
    except LOAD_ERRORS as error:
        raise load_failed(model.path, error) from error


def _logits_module(network):
    """The network as ``pixels -> logits``, the shape the loop calls."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.network = inner

        def forward(self, pixel_values):
            return self.network(pixel_values=pixel_values).logits

    return Logits(network)


def choose_trainable(module, train_blocks: str) -> list[Any]:
    """Every parameter ("all"), or ("top") the last quarter of the largest stack of blocks
    and everything after it (final norm, pooler, classifier)."""
    import torch

    named = list(module.named_parameters())
    if train_blocks == "all":
        return [parameter for _name, parameter in named]
    stacks = [
        (name, len(child))
        for name, child in module.named_modules()
        if isinstance(child, torch.nn.ModuleList) and len(child) > 0
    ]
    if not stacks:
        return [parameter for _name, parameter in named]
    prefix, count = max(stacks, key=lambda item: item[1])
    first_top = count - max(1, int(count * TOP_FRACTION))
    last_in_stack = max(i for i, (name, _p) in enumerate(named) if name.startswith(prefix + "."))
    trainable = []
    for index, (name, parameter) in enumerate(named):
        block = name[len(prefix) + 1 :].split(".", 1)[0] if name.startswith(prefix + ".") else None
        keep = index > last_in_stack or (
            block is not None and block.isdigit() and int(block) >= first_top
        )
        parameter.requires_grad_(keep)
        if keep:
            trainable.append(parameter)
    return trainable


def train_hf_finetune(run: TrainRun, model: LocalModel) -> Trained:
    """The folder's classification network with a new head of the run's classes."""
    run = run.with_prepared(readable_images(run.prepared, run.progress, run.cancel))
    prepared, config, device = run.prepared, run.config, run.device
    settings = image_settings(model)

    def build() -> Network:
        network = _classification_network(model, prepared.labels)
        module = _logits_module(network)
        batches = PictureBatches(
            HFPictureSet(prepared.train_items, prepared.train_y, True, config, settings),
            HFPictureSet(prepared.val_items, prepared.val_y, False, config, settings),
            loader_workers(config, device.kind),
            pin=device.kind == "cuda",
            seed=config.seed,
        )
        files = {
            "config.json": network.config.to_json_string().encode("utf-8"),
            PROCESSOR: (model.path / PROCESSOR).read_bytes(),
        }
        return Network(
            module,
            choose_trainable(module, config.train_blocks),
            batches,
            state_prefix="network.",
            files=files,
            close=batches.close,
        )

    return finetune(
        run, build, kind=KIND_HF_FINETUNED, backbone=backbone_info(model), preprocess=settings
    )


# --------------------------------------------------------------------------- dispatch


def train_hf(run: TrainRun) -> Trained:
    """Fast or fine-tune on the local folder ``train`` inspected (``run.local``)."""
    model, mode = run.local, run.config.mode
    assert model is not None, "train() inspects config.backbone"
    if mode == "fast":
        compute = functools.partial(_features, str(model.path), run.device.torch_device)
        # the processor only: cached features need no network
        return train_fast(
            run,
            kind=KIND_HF_LINEAR,
            backbone=backbone_info(model),
            preprocess=image_settings(model),
            compute=compute,
        )
    if mode == "finetune":
        return train_hf_finetune(run, model)
    raise UserError(MSG_NOT_FOR_IMAGES, details=mode)


def _features(folder: str, device: str, paths, progress, cancel) -> np.ndarray:
    return hf_image_features(folder, paths, progress, cancel, device=device)
