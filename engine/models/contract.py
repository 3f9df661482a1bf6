"""What every model is to the rest of Taxon: a ``Classifier`` and its results.

Every model plugs in as a ``Classifier``: the built-in ImageNet model, trained
image and text packages, ensembles. A classifier only maps a batch of
preprocessed pixels (or texts) to probabilities; decoding, batching, progress,
cancellation and error reporting live in ``engine.models.inference`` so every
model gets them alike. This module sits at the bottom of ``engine.models``:
backbones and package loaders import it, it imports none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.core.i18n import Message


@dataclass
class Prediction:
    label: str
    score: float


@dataclass
class ItemResult:
    """One input's outcome: predictions, or an error.

    ``error`` is the message translated when the result was made (for the CLI's
    output); ``error_message`` lets the GUI translate it again after a switch.
    """

    input: str
    predictions: list[Prediction] = field(default_factory=list)
    error: str | None = None
    thumbnail_jpeg: bytes | None = None
    width: int | None = None
    height: int | None = None
    error_message: Message | None = None
    #: The file's size and modification time when it was read (``--resume`` keys on them).
    size: int | None = None
    mtime_ns: int | None = None

    @classmethod
    def failed(cls, path: str, message: Message) -> ItemResult:
        return cls(path, error=message.text(), error_message=message)

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON shape: predictions or error, never both."""
        if self.error is not None:
            return {"input": self.input, "error": self.error}
        return {
            "input": self.input,
            "predictions": [{"label": p.label, "score": p.score} for p in self.predictions],
        }


@dataclass(frozen=True)
class PreprocessConfig:
    """How a file becomes model input (resize shorter side, centre crop, normalise)."""

    size: int = 224
    resize_shorter: int = 256
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        return cls(
            size=int(data["size"]),
            resize_shorter=int(data["resize_shorter"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class Classifier(ABC):
    """A model that turns uint8 RGB pixels into class probabilities."""

    name: str
    labels: list[str]
    task: str = "image"
    preprocess: PreprocessConfig = PreprocessConfig()
    backend: str = "unknown"
    #: Images per forward pass; small enough that a batch ends well within a second.
    batch_size: int = 16
    #: The gettext domain that translates ``labels`` for display (the built-in model's
    #: ImageNet names); None for a trained model, whose labels are the user's own words.
    label_domain: str | None = None

    def display_label(self, label: str) -> str:
        """``label`` as a person reading the UI language should see it."""
        if self.label_domain is None:
            return label
        from engine.models.class_names import display_class_name

        return display_class_name(label)

    @abstractmethod
    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> (N, len(labels)) probabilities."""

    def top_k(self, probabilities: np.ndarray, k: int) -> list[list[Prediction]]:
        """The k most likely labels of each row, best first."""
        k = max(1, min(k, probabilities.shape[1]))
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [Prediction(self.labels[i], float(row[i])) for i in indices]
            for row, indices in zip(probabilities, order, strict=True)
        ]

    def close(self) -> None:
        """Release the model's resources (sessions, GPU memory); subclasses extend it."""
        self.closed = True
