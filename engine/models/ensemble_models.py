"""The ensemble's classifiers: members' probabilities, reordered and averaged with weights.

An image ensemble decodes each picture once, at the geometry of its largest
member (``engine.models.ensemble._preprocess``). A member trained at another geometry
gets the part of that crop it would have seen, scaled to its own size: exact
when it looks at a smaller centre region, and an approximation (the whole crop)
when it wanted more context than the crop holds. Members sharing the geometry
see exactly what they would alone (the case ONNX/TorchScript export requires).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from engine.core.jobs import CancelToken, Progress
from engine.models.contract import Classifier, PreprocessConfig
from engine.models.ensemble import members_of
from engine.models.package import ModelPackage
from engine.models.text_package import TextClassifier

Member = tuple[Classifier, float, np.ndarray]  # classifier, weight, column order
#: ``load_classifier``'s signature: path, progress, cancel, backend.
LoadMember = Callable[
    [str | os.PathLike[str], Progress | None, CancelToken | None, str | None], Classifier
]


def fit_pixels(pixels: np.ndarray, have: PreprocessConfig, want: PreprocessConfig) -> np.ndarray:
    """``pixels`` decoded with ``have`` as a member decoding with ``want`` would see them."""
    if (have.size, have.resize_shorter) == (want.size, want.resize_shorter):
        return pixels
    from PIL import Image

    share_have = have.size / max(have.resize_shorter, have.size)
    share_want = want.size / max(want.resize_shorter, want.size)
    side = pixels.shape[1]
    crop = min(side, max(1, round(side * share_want / share_have)))
    start = (side - crop) // 2
    out = np.empty((len(pixels), want.size, want.size, 3), dtype=np.uint8)
    for index, image in enumerate(pixels[:, start : start + crop, start : start + crop]):
        out[index] = np.asarray(
            Image.fromarray(np.ascontiguousarray(image)).resize(
                (want.size, want.size), Image.Resampling.BICUBIC
            ),
            dtype=np.uint8,
        )
    return out


class EnsembleImageClassifier(Classifier):
    """uint8 pixels -> the weighted average of the members' probabilities."""

    task = "image"

    def __init__(
        self, name: str, labels: list[str], members: list[Member], preprocess: PreprocessConfig
    ) -> None:
        self.name, self.labels, self.members = name, list(labels), members
        self.preprocess = preprocess
        self.batch_size = max(1, min(member.batch_size for member, _w, _o in members))
        self.backend = "+".join(dict.fromkeys(member.backend for member, _w, _o in members))
        self._lock = threading.Lock()

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        out = np.zeros((len(pixels), len(self.labels)), dtype=np.float64)
        with self._lock:
            for member, weight, order in self.members:
                seen = fit_pixels(pixels, self.preprocess, member.preprocess)
                out += weight * np.asarray(member.predict_batch(seen), dtype=np.float64)[:, order]
        return out.astype(np.float32)

    def close(self) -> None:
        for member, _weight, _order in self.members:
            member.close()
        super().close()


class EnsembleTextClassifier(TextClassifier):
    """Texts -> the weighted average of the members' probabilities."""

    def __init__(self, name: str, labels: list[str], members: list[Member]) -> None:
        self.members = members
        super().__init__(name, labels, self._mix)
        self.backend = "+".join(dict.fromkeys(member.backend for member, _w, _o in members))

    def _mix(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        for member, weight, order in self.members:
            probs = member.predict_texts(texts)  # type: ignore[attr-defined]
            out += weight * np.asarray(probs, dtype=np.float64)[:, order]
        return out.astype(np.float32)

    def close(self) -> None:
        for member, _weight, _order in self.members:
            member.close()
        super().close()


def load_ensemble_classifier(
    package: ModelPackage,
    load_member: LoadMember,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> Classifier:
    """A ``Classifier`` that averages its members' probabilities with the saved weights.

    ``load_member`` is ``engine.models.loading.load_classifier``, handed down so this
    module need not import the loader that imports it.
    """
    members = members_of(package)
    loaded = []
    try:
        for member, weight, order in members:
            if cancel is not None:
                cancel.raise_if_cancelled()
            loaded.append((load_member(member.path, progress, cancel, backend), weight, order))
    except BaseException:
        for classifier, _weight, _order in loaded:
            classifier.close()
        raise
    if package.task == "text":
        return EnsembleTextClassifier(package.name, package.labels, loaded)
    settings = package.manifest.get("preprocess") or {}
    first = loaded[0][0].preprocess
    preprocess = PreprocessConfig(
        size=int(settings.get("size", first.size)),
        resize_shorter=int(settings.get("resize_shorter", first.resize_shorter)),
    )
    return EnsembleImageClassifier(package.name, package.labels, loaded, preprocess)
