"""Tiny trained packages of every exportable kind, built in seconds, for the export tests.

Images: scikit-learn's real digits; text: two topics of short sentences; the
Hugging Face backbones are the random-initialised tiny folders from
``engine.models.backbones.tiny_models``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SPORT = [
    "The team won the football match",
    "She scored a goal in the final",
    "The tennis player served an ace",
    "Our basketball coach trains us hard",
    "He runs a marathon every year",
    "The referee gave a red card",
    "They play cricket on Sundays",
    "Fans cheered in the stadium",
]
FOOD = [
    "I cooked pasta with tomato sauce",
    "This soup needs more salt",
    "We baked bread this morning",
    "The restaurant serves fresh fish",
    "She likes chocolate cake",
    "Add garlic and onions to the pan",
    "He drinks coffee with milk",
    "The chef grilled the vegetables",
]
#: Texts for classifying exported text models (not in the training data).
NEW_TEXTS = [
    "The goalkeeper saved a penalty",
    "Fry the eggs in butter",
    "Our club lost the league game",
    "Rice and beans for dinner",
]


def digits_dataset(folder: Path):
    from engine.data.dataset_io import load_dataset
    from tests.helpers.digits import write_digits

    return load_dataset(str(write_digits(folder, per_class=10, classes=(0, 1, 6))))


def topics_dataset(folder: Path):
    from engine.data.dataset_io import load_dataset

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "topics.csv"
    rows = [(text, "sport") for text in SPORT] + [(text, "food") for text in FOOD]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return load_dataset(str(path))


def train_package(dataset, out: Path, **settings) -> Path:
    """A package trained with ``settings`` on the CPU (``TrainConfig`` fields)."""
    from engine.training import TrainConfig, train

    settings.setdefault("seed", 1)
    settings.setdefault("device", "cpu")
    return train(dataset, out, TrainConfig(**settings)).package


def tiny_text_backbone(folder: Path) -> Path:
    from engine.models.backbones.tiny_models import tiny_text_model

    return tiny_text_model(folder, SPORT + FOOD + NEW_TEXTS)


def tiny_image_backbone(folder: Path) -> Path:
    from engine.models.backbones.tiny_models import tiny_image_model

    return tiny_image_model(folder)
