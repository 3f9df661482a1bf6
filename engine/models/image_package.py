"""Image model packages as classifiers: the same fast path as the built-in model.

Two kinds of package:
- ``image-linear`` (fast mode) stores only the new head; the backbone is the
  built-in EfficientNet-Lite0, pinned by its weights' hash in the manifest;
- ``image-finetuned`` stores the whole network.
Both become a timm ``tf_efficientnet_lite0`` with as many outputs as labels, and
go through ``load_image_runner``: ONNX Runtime export keyed by the package's
weights hash, parity-checked, else PyTorch.
Packages trained on a local Hugging Face folder (``image-hf-linear``,
``image-hf-finetuned``) are loaded by ``engine.models.backbones.hf_image_classifier``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, UserError
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.models.backbones.hf_image import KIND_HF_FINETUNED, KIND_HF_LINEAR

if TYPE_CHECKING:
    import torch

    from engine.models.package import ModelPackage

KIND_LINEAR = "image-linear"
KIND_FINETUNED = "image-finetuned"
KINDS = (KIND_LINEAR, KIND_FINETUNED)
#: Trained on a local Hugging Face folder (``engine.models.backbones.hf_image``).
HF_KINDS = (KIND_HF_LINEAR, KIND_HF_FINETUNED)
HEAD_WEIGHT, HEAD_BIAS = "classifier.weight", "classifier.bias"

MSG_OTHER_BACKBONE = N_(
    "The model “{name}” was trained on a different version of the built-in "
    "image model, so it cannot be used with this version of Taxon."
)
MSG_WRONG_KIND = N_("The model “{name}” is of a kind this version of Taxon cannot use.")


def new_network(num_classes: int, pretrained_backbone: bool = True) -> torch.nn.Module:
    """Lite0 with a fresh ``num_classes`` head; the backbone from the built-in weights."""
    import timm

    model = timm.create_model(lite0.ARCHITECTURE, pretrained=False, num_classes=num_classes)
    if pretrained_backbone:
        state = {
            k: v for k, v in lite0.load_state_dict().items() if not k.startswith("classifier.")
        }
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) == {HEAD_WEIGHT, HEAD_BIAS}, (missing, unexpected)
    return model


def check_backbone(package: ModelPackage) -> None:
    """A head is only valid on the exact backbone it was trained on."""
    if package.kind == KIND_LINEAR and (
        package.manifest.get("backbone", {}).get("weights_sha256") != lite0.weights_sha256()
    ):
        raise UserError(MSG_OTHER_BACKBONE, name=package.name)


def build_network(package: ModelPackage) -> torch.nn.Module:
    """The package's network in eval mode on the CPU (validated, never unpickled)."""
    if package.kind not in KINDS:
        raise UserError(MSG_WRONG_KIND, details=f"kind={package.kind!r}", name=package.name)
    tensors = package.tensors()
    labels = package.labels
    check_backbone(package)
    check_head(package, {key: tuple(value.shape) for key, value in tensors.items()})
    if package.kind == KIND_LINEAR:
        model = new_network(len(labels))
        state = {HEAD_WEIGHT: tensors[HEAD_WEIGHT], HEAD_BIAS: tensors[HEAD_BIAS]}
        strict = False
    else:
        model = new_network(len(labels), pretrained_backbone=False)
        state, strict = tensors, True
    try:
        model.load_state_dict(state, strict=strict)
    except (RuntimeError, TypeError, KeyError) as error:  # wrong shapes or names: a damaged package
        raise package.damaged(str(error)) from error
    return model.eval()


def build_saved_network(
    folder: str, kind: str, weights_sha256: str, source: str | None = None
) -> torch.nn.Module:
    """The network of the package at ``folder``, opened again through ``load_package``.

    Picklable (a module-level function under ``functools.partial``), so the first ONNX
    export can be made in a helper process off the window's (``image_runner``). The
    package is validated again there (manifest, checksums, safetensors weights, never
    unpickled), and must still be the one the caller opened: same kind, same weights.
    ``source`` is the archive the folder was unpacked from, named in messages.
    """
    from dataclasses import replace
    from pathlib import Path

    from engine.models.package import load_package

    package = load_package(folder)
    if source is not None:
        package = replace(package, source=Path(source))
    if package.kind != kind or package.weights_sha256 != weights_sha256:
        raise package.damaged("the package changed while its network was being prepared")
    return build_network(package)


def check_head(package: ModelPackage, shapes: dict[str, tuple[int, ...]] | None = None) -> None:
    """The head must have one output per label: more labels than outputs would be wrong
    silently, fewer would fail with an index error when a prediction is named. Checked
    before a cached runner is used too, since the cache is keyed by the weights alone."""
    shapes = package.tensor_shapes() if shapes is None else shapes
    for key in (HEAD_WEIGHT, HEAD_BIAS):
        if key not in shapes:
            raise package.damaged(f"{key} is missing from the weights")
        package.check_outputs(shapes[key], len(package.labels), key)


def load_package_classifier(
    package: ModelPackage,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
):
    """A ``Classifier`` for an image package, ONNX Runtime accelerated when possible."""
    from engine.models.backbones.image_runner import load_image_runner

    if package.kind in HF_KINDS:
        from engine.models.backbones.hf_image_classifier import load_hf_classifier

        return load_hf_classifier(package, progress, cancel)
    check_backbone(package)
    if package.kind in KINDS:
        check_head(package)
    preprocess: dict[str, Any] = package.manifest.get("preprocess") or lite0.preprocess_config()
    mean = tuple(float(v) for v in preprocess.get("mean", lite0.MEAN))
    std = tuple(float(v) for v in preprocess.get("std", lite0.STD))
    runner, _metadata = load_image_runner(
        f"package-{package.kind}",
        package.weights_sha256,
        functools.partial(
            build_saved_network,
            str(package.path),
            package.kind,
            package.weights_sha256,
            None if package.source is None else str(package.source),
        ),
        {"labels": package.labels},
        mean,
        std,
        progress,
        cancel,
        backend,
    )
    return lite0.ImageModelClassifier(runner, package.labels, package.name, preprocess)
