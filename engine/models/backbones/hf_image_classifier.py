"""Packages trained on a local Hugging Face image folder, loaded as classifiers.

``engine.models.backbones.hf_image`` loads the folder and computes its features;
this module turns a saved ``image-hf-linear`` package (a head on that folder,
which must still be there, unchanged) or ``image-hf-finetuned`` package (the
whole network plus its config) back into a ``Classifier``. It is apart from the
backbone because only the package loaders and exports need it, and because it is
where a package's promise about its folder is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.models.backbones.hf_image import (
    KIND_HF_LINEAR,
    MSG_LOADING,
    pool,
    shared_backbone,
    to_pixel_values,
)
from engine.models.backbones.local_folder import LocalModel, inspect_folder, quiet_transformers
from engine.models.contract import Classifier, PreprocessConfig, softmax

if TYPE_CHECKING:
    from engine.models.package import ModelPackage

__all__ = ["HFImageClassifier", "load_hf_classifier", "package_backbone"]

MSG_BACKBONE_CHANGED = N_(
    "The model “{name}” was trained on the local model folder “{path}”, "
    "which is missing or has changed since. Put the folder back as it was, "
    "or train the model again."
)


class HFImageClassifier(Classifier):
    """A local image model with a linear head, or a fine-tuned network, in PyTorch."""

    backend = "pytorch"

    def __init__(
        self,
        network: Any,
        labels: list[str],
        name: str,
        settings: dict[str, Any],
        head: Any = None,
        use_pooler: bool = False,
        device: str = "cpu",
    ) -> None:
        import torch

        self.network, self.head, self.use_pooler = network, head, use_pooler
        self.labels, self.name, self.settings = list(labels), name, dict(settings)
        self.preprocess = PreprocessConfig.from_dict(settings)
        self.device = torch.device(device)
        self.batch_size = 16

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        if self.network is None:
            raise RuntimeError("classifier is closed")
        values = to_pixel_values(pixels, self.settings, self.device)
        with torch.inference_mode():
            output = self.network(pixel_values=values)
            logits = (
                self.head(pool(output, self.use_pooler)) if self.head is not None else output.logits
            )
        return softmax(logits.float().cpu().numpy().astype(np.float32))

    def close(self) -> None:
        super().close()
        self.network = self.head = None


def package_backbone(package: ModelPackage) -> LocalModel:
    """The folder a head was trained on, unchanged, else a message saying so."""
    backbone = package.manifest.get("backbone") or {}
    path = str(backbone.get("path", ""))
    try:
        model = inspect_folder(path, "image") if path else None
    except UserError as error:
        raise UserError(
            MSG_BACKBONE_CHANGED, details=error.message, name=package.name, path=path
        ) from error
    if model is None or model.id != backbone.get("id"):
        raise UserError(
            MSG_BACKBONE_CHANGED,
            details=f"expected {backbone.get('id')!r}",
            name=package.name,
            path=path,
        )
    return model


def load_hf_classifier(
    package: ModelPackage,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    device: str = "cpu",
) -> HFImageClassifier:
    """An ``image-hf-linear`` or ``image-hf-finetuned`` package as a classifier."""
    import torch

    from engine.models.package import MSG_DAMAGED

    (progress or no_progress)(0, None, _(MSG_LOADING))
    labels, tensors = package.labels, package.tensors()
    settings = package.manifest.get("preprocess") or {}
    try:
        if package.kind == KIND_HF_LINEAR:
            backbone = shared_backbone(package_backbone(package), device)
            head = torch.nn.Linear(backbone.width, len(labels))
            head.load_state_dict(
                {"weight": tensors["classifier.weight"], "bias": tensors["classifier.bias"]}
            )
            return HFImageClassifier(
                backbone.network,
                labels,
                package.name,
                backbone.settings,
                head.to(backbone.device).eval(),
                backbone.use_pooler,
                device,
            )
        from transformers import AutoConfig, AutoModelForImageClassification

        with quiet_transformers():
            config = AutoConfig.from_pretrained(
                package.path, local_files_only=True, trust_remote_code=False
            )
            network = AutoModelForImageClassification.from_config(config)
        network.load_state_dict(tensors, strict=True)
        return HFImageClassifier(
            network.to(torch.device(device)).eval(), labels, package.name, settings, device=device
        )
    except (RuntimeError, KeyError, ValueError, OSError, TypeError) as error:
        raise UserError(
            MSG_DAMAGED, details=f"{type(error).__name__}: {error}"[:2000], path=str(package.path)
        ) from error
