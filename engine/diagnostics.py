"""Checks of the engine's native parts, run by ``Taxon --self-test`` (``ui.selftest``).

They prove an installation (often a frozen bundle) has what training and
classifying need, offline: PyTorch and ONNX Runtime compute right, the built-in
model loads, exports and names real photos, and a tiny training run makes a
package that loads. A check is a function ``check(context) -> str`` that returns
a short detail and raises ``CheckFailed`` (worded for the report) on failure.
The window's own checks (Qt platform, image formats, languages) stay in
``ui.selftest``, which lists them all.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.core.i18n import _

#: scikit-learn's sample photos and the ImageNet class the built-in model must give each.
SAMPLE_PHOTOS = {"china.jpg": "palace", "flower.jpg": "daisy"}


class CheckFailed(Exception):
    """A check's finding, already worded for the report."""


@dataclass
class Context:
    """What the checks share: the QApplication and the network attempts seen so far."""

    app: object = None
    language: str = "en"  # the language the report is printed in
    network_attempts: list[str] = field(default_factory=list)


def check_torch(context: Context) -> str:
    import torch

    value = (torch.arange(6, dtype=torch.float32).reshape(2, 3) @ torch.ones(3, 1)).sum().item()
    if value != 15.0:
        raise CheckFailed(_("PyTorch computed {value} instead of 15.").format(value=value))
    cuda = torch.cuda.is_available()
    if cuda:
        on_gpu = (
            (torch.ones(64, 64, device="cuda") @ torch.ones(64, 64, device="cuda")).sum().item()
        )
        if on_gpu != 64.0**3:
            raise CheckFailed(_("The GPU computed a wrong result."))
        device = torch.cuda.get_device_name(0)
    else:
        device = _("no CUDA GPU")
    return _("torch {version}, CUDA build: {cuda_build}, device: {device}").format(
        version=torch.__version__, cuda_build=torch.version.cuda or _("no"), device=device
    )


def check_onnxruntime(context: Context) -> str:
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["y"])],
        "double",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    result = session.run(None, {"x": np.array([1.5, 2.0], np.float32)})[0]
    if result.tolist() != [3.0, 4.0]:
        raise CheckFailed(_("ONNX Runtime computed {value}.").format(value=result.tolist()))
    return _("onnxruntime {version}; providers: {providers}").format(
        version=onnxruntime.__version__, providers=", ".join(onnxruntime.get_available_providers())
    )


def check_builtin_model(context: Context) -> str:
    """The shipped weights load, export to ONNX, and name real photos right (in workers)."""
    from engine.models.inference import classify_images
    from engine.models.loading import load_builtin_classifier

    photos = sample_photos()
    classifier = load_builtin_classifier(backend="auto")
    try:
        results = classify_images(classifier, [photos[name] for name in SAMPLE_PHOTOS], top_k=1)
        backend = classifier.backend
    finally:
        classifier.close()
    answers = []
    for (name, expected), result in zip(SAMPLE_PHOTOS.items(), results, strict=True):
        if result.error or not result.predictions:
            raise CheckFailed(f"{name}: {result.error}")
        top = result.predictions[0]
        if top.label != expected:
            raise CheckFailed(
                _("{photo} was classified as “{label}”, expected “{expected}”.").format(
                    photo=name, label=top.label, expected=expected
                )
            )
        answers.append(f"{name} → {top.label}")
    if backend != "onnxruntime":
        raise CheckFailed(
            _("The model runs on {backend} instead of ONNX Runtime (the log says why).").format(
                backend=backend
            )
        )
    return _("{answers} (via {backend})").format(answers=", ".join(answers), backend=backend)


def check_training(context: Context) -> str:
    """A tiny fast-mode run on crops of the sample photos completes, and its package loads
    (validated, no pickle) and tells the two photos apart."""
    from PIL import Image

    from engine.data.dataset_io import load_image_folder
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier
    from engine.training import TrainConfig, train

    photos = sample_photos()
    root = Path(tempfile.mkdtemp(prefix="taxon-selftest-train-"))
    try:
        for name, photo in photos.items():
            label = SAMPLE_PHOTOS[name]
            (root / "data" / label).mkdir(parents=True)
            with Image.open(photo) as image:
                width, height = image.size
                for index in range(8):  # overlapping crops across the photo: a real if tiny dataset
                    left, top = (index * (width - 200)) // 7, (index % 4) * (height - 200) // 3
                    image.crop((left, top, left + 200, top + 200)).save(
                        root / "data" / label / f"{index}.jpg", quality=90
                    )
        result = train(
            load_image_folder(root / "data"),
            root / "model",
            TrainConfig(mode="fast", epochs=15, device="cpu", seed=0),
        )
        classifier = load_classifier(result.package)
        try:
            outcomes = classify_images(
                classifier, [photos[name] for name in SAMPLE_PHOTOS], top_k=1
            )
        finally:
            classifier.close()
        for (name, expected), outcome in zip(SAMPLE_PHOTOS.items(), outcomes, strict=True):
            if outcome.error or outcome.predictions[0].label != expected:
                raise CheckFailed(_("The trained model got {photo} wrong.").format(photo=name))
        return _(
            "trained in {epochs} epochs, validation accuracy {accuracy}; the package loads"
        ).format(epochs=len(result.history), accuracy=f"{result.metrics['accuracy']:.0%}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def check_no_network(context: Context) -> str:
    if context.network_attempts:
        raise CheckFailed(
            _("Connections were attempted: {attempts}").format(
                attempts=", ".join(context.network_attempts)
            )
        )
    return _("no connection attempted")


def sample_photos() -> dict[str, Path]:
    """The bundled scikit-learn photos, found without importing scikit-learn."""
    from engine.data.sample_photos import sample_photo_paths

    photos = {path.name: path for path in sample_photo_paths() if path.name in SAMPLE_PHOTOS}
    if len(photos) == len(SAMPLE_PHOTOS):
        return photos
    raise CheckFailed(_("The sample photos (scikit-learn’s china.jpg and flower.jpg) are missing."))
