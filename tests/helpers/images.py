"""Pictures and an instant stand-in image model for the evaluation tests (engine and GUI)."""

from __future__ import annotations

import numpy as np

from engine.models.contract import Classifier, PreprocessConfig
from tests.helpers.synthetic import natural


class RedBlueClassifier(Classifier):
    """Calls a picture "red" or "blue" from its mean colour; knows a third label too."""

    name = "red-blue"
    labels = ["red", "blue", "green"]
    preprocess = PreprocessConfig(size=32, resize_shorter=32)

    def __init__(self) -> None:
        self.seen = 0

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        self.seen += len(pixels)
        mean = pixels.reshape(len(pixels), -1, 3).mean(axis=1) / 255
        logits = np.stack([mean[:, 0] * 8, mean[:, 2] * 8, np.zeros(len(pixels))], axis=1)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def tinted(seed: int, colour: tuple[int, int, int]) -> np.ndarray:
    """A photo-like picture washed in ``colour``: easy for ``RedBlueClassifier``, not blank."""
    image = np.asarray(natural(seed, 64, 48)).astype(np.float32)
    return np.clip(image * 0.3 + np.array(colour) * 0.7, 0, 255).astype(np.uint8)
