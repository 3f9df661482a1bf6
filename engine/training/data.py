"""From a ``Dataset`` to what a trainer needs: classes, a train/validation split,
class weights, and a summary for the model card.

The split comes from ``engine.data.splits`` (stratified, group-aware: identical
items never sit on both sides). A ``split`` column the user supplied wins:
their validation rows are used as given and their test rows are kept out of
training altogether.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.core.i18n import N_, Message, Nn_
from engine.core.jobs import UserError
from engine.data.datasets import ITEM, LABEL, ROW_ID, SPLIT, TRAIN, VALIDATION, Dataset

MSG_TOO_FEW_CLASSES = N_("Training needs at least two classes with examples; this dataset has {n}.")
MSG_TOO_FEW_ROWS = N_(
    "Training needs at least two examples of some class to check the model on; add more examples."
)
MSG_CLASSES_TOO_SMALL = N_(
    "Training keeps some examples aside to check the model on, which needs at least {needed} "
    "examples in at least one class; the largest class, {label}, has only {count}. Add more "
    "examples."
)
MSG_THIN_VALIDATION, MSG_THIN_VALIDATION_PLURAL = Nn_(
    "The accuracy of class {labels} is not meaningful: it was checked on fewer than {minimum} "
    "examples.",
    "The accuracy of classes {labels} is not meaningful: each was checked on fewer than "
    "{minimum} examples.",
)
#: Fewer validation examples than this make a class's accuracy figure mere chance.
MEANINGFUL_VALIDATION = 5
MSG_NOTHING_LEFT = N_("None of the examples could be read, so there is nothing to train on.")
LANGUAGE_SAMPLE = 20_000  # training texts whose language the manifest's summary counts


@dataclass
class Prepared:
    """The rows a run trains and validates on (items are paths or texts)."""

    labels: list[str]
    train_items: list[str]
    train_y: np.ndarray
    val_items: list[str]
    val_y: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    val_rows: np.ndarray | None = None  # dataset row ids of the validation items

    def summary(self, task: str, dataset_name: str) -> dict[str, Any]:
        """What the model card and the manifest say about the data."""
        train_counts = Counter(self.labels[i] for i in self.train_y)
        val_counts = Counter(self.labels[i] for i in self.val_y)
        return {
            "name": dataset_name,
            "task": task,
            "train_examples": len(self.train_items),
            "validation_examples": len(self.val_items),
            "skipped_examples": len(self.skipped),
            "classes": {
                label: {"train": train_counts.get(label, 0), "validation": val_counts.get(label, 0)}
                for label in self.labels
            },
            **({"languages": training_languages(self.train_items)} if task == "text" else {}),
        }

    def keep(
        self, train_mask: np.ndarray, val_mask: np.ndarray, reasons: dict[str, str]
    ) -> Prepared:
        """A copy without the rows whose mask is False (unreadable items), noting why."""
        skipped = list(self.skipped)
        for items, mask in ((self.train_items, train_mask), (self.val_items, val_mask)):
            skipped += [
                (item, reasons.get(item, ""))
                for item, ok in zip(items, mask, strict=True)
                if not ok
            ]
        kept = Prepared(
            self.labels,
            [i for i, ok in zip(self.train_items, train_mask, strict=True) if ok],
            self.train_y[train_mask],
            [i for i, ok in zip(self.val_items, val_mask, strict=True) if ok],
            self.val_y[val_mask],
            skipped,
            None if self.val_rows is None else self.val_rows[val_mask],
        )
        kept.check()
        return kept

    def check(self) -> None:
        if not self.train_items and not self.val_items:
            raise UserError(MSG_NOTHING_LEFT)
        if len(set(self.train_y.tolist())) < 2:
            raise UserError(MSG_TOO_FEW_CLASSES, n=len(set(self.train_y.tolist())))
        if not self.val_items:
            raise self._too_few_rows()

    def _too_few_rows(self) -> UserError:
        """Say how many examples a class needs, and how many the largest has."""
        from engine.data.splits import MIN_ROWS_TO_SHARE

        counts = np.bincount(self.train_y, minlength=len(self.labels))
        largest = int(counts.argmax())
        if counts[largest] >= MIN_ROWS_TO_SHARE:  # identical examples kept together, say
            return UserError(MSG_TOO_FEW_ROWS)
        return UserError(
            MSG_CLASSES_TOO_SMALL,
            needed=MIN_ROWS_TO_SHARE,
            label=self.labels[largest],
            count=int(counts[largest]),
        )


def thin_validation(
    classes: dict[str, dict[str, int]], minimum: int = MEANINGFUL_VALIDATION
) -> Message | None:
    """A warning naming the classes checked on fewer than ``minimum`` validation examples
    (``classes`` as in ``Prepared.summary``): one image checked gives 0% or 100%."""
    thin = [label for label, counts in classes.items() if counts.get("validation", 0) < minimum]
    if not thin:
        return None
    return Message(
        MSG_THIN_VALIDATION,
        {"labels": ", ".join(thin), "minimum": minimum},
        MSG_THIN_VALIDATION_PLURAL,
        len(thin),
    )


def training_languages(texts: list[str]) -> dict[str, int]:
    """How many training texts are in each language, most common first.

    Kept in the manifest so the Classify page can show "trained on English,
    classifying Chinese" (cross-lingual use) without the training data. At most
    ``LANGUAGE_SAMPLE`` evenly spaced texts are detected (~25 µs each); texts with
    no letters to judge by are left out.
    """
    from engine.data.languages import detect_languages, fold_language

    if len(texts) > LANGUAGE_SAMPLE:
        texts = [texts[int(i)] for i in np.linspace(0, len(texts) - 1, LANGUAGE_SAMPLE)]
    codes = (fold_language(code) for code in detect_languages(texts))
    counts = Counter(code for code in codes if code)
    return dict(counts.most_common())


def group_keys(dataset: Dataset) -> pd.Series | None:
    """Rows that must stay on one side of the split: identical texts (case and spacing
    ignored). Image datasets group identical files by content in the trainer."""
    if dataset.task != "text":
        return None
    text = dataset.frame[ITEM].astype("string").str.casefold().str.split().str.join(" ")
    return text.where(text.notna(), None)


def prepare(
    dataset: Dataset, *, validation_fraction: float, seed: int, groups: pd.Series | None = None
) -> Prepared:
    from engine.data.splits import split_dataset

    frame = dataset.frame
    frame = frame[frame[ITEM].notna() & frame[LABEL].notna()]
    frame = frame[frame[LABEL].astype("string").str.strip() != ""]
    labels = sorted(frame[LABEL].astype(str).unique().tolist())
    if len(labels) < 2:
        raise UserError(MSG_TOO_FEW_CLASSES, n=len(labels))
    given = frame[SPLIT] if SPLIT in frame.columns else None
    if given is not None and (given == VALIDATION).any() and (given == TRAIN).any():
        split = given.fillna(TRAIN)
    else:
        subset = Dataset(dataset.task, frame, dataset.source, dataset.name)
        group_series = groups.loc[frame.index] if groups is not None else group_keys(subset)
        split = split_dataset(
            subset, validation=validation_fraction, test=0.0, groups=group_series, seed=seed
        )
    index = {label: i for i, label in enumerate(labels)}
    codes = frame[LABEL].astype(str).map(index).to_numpy(dtype=np.int64)
    items = frame[ITEM].astype(str).tolist()
    is_train = (split == TRAIN).to_numpy()
    is_val = (split == VALIDATION).to_numpy()  # user-given test rows: neither
    prepared = Prepared(
        labels,
        [item for item, t in zip(items, is_train, strict=True) if t],
        codes[is_train],
        [item for item, v in zip(items, is_val, strict=True) if v],
        codes[is_val],
        val_rows=frame[ROW_ID].to_numpy(dtype=np.int64)[is_val],
    )
    prepared.check()
    return prepared


def class_weights(train_y: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weights, normalised to mean 1 (absent classes get 0)."""
    counts = np.bincount(train_y, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / num_classes, 0.0)
    present = weights > 0
    weights[present] /= weights[present].mean()
    return weights.astype(np.float32)
