"""Pictures and an instant stand-in image model for the evaluation tests (engine and GUI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.models.contract import Classifier, PreprocessConfig
from engine.models.evaluation import Evaluation
from engine.models.package import save_package
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


def red_and_blue(folder: Path, suffixes: str = "0123") -> Dataset:
    """Four red and four blue photos named ``red-<suffix>.jpg`` and ``blue-<suffix>.jpg``;
    the first red one is labelled blue by mistake."""
    folder.mkdir()
    items, labels = [], []
    for index, suffix in enumerate(suffixes):
        for name, colour in (("red", (230, 20, 20)), ("blue", (20, 20, 230))):
            path = folder / f"{name}-{suffix}.jpg"
            Image.fromarray(tinted(index * 5 + len(name), colour)).save(path, quality=90)
            items.append(str(path))
            labels.append(name)
    labels[0] = "blue"
    return Dataset(
        "image", make_frame(items, labels), DatasetSource("folder", str(folder)), name=folder.name
    )


def evaluated_package(folder: Path, name: str, evaluation: Evaluation) -> Path:
    """A small image model package that carries ``evaluation`` (its head is all zeros)."""
    return save_package(
        folder,
        manifest={"name": name, "task": "image", "kind": "fast", "labels": evaluation.labels},
        tensors={"head.weight": np.zeros((3, 4), dtype=np.float32)},
        evaluation=evaluation.to_json(),
    )
