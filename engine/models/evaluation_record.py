"""How good a model is on labelled data: accuracy, per-class scores, confusion, calibration.

An ``Evaluation`` holds only the raw outcome of one run — the labels, the items
(image paths or texts), the true class of each and the model's probability
vector — and derives every metric from it. Keeping the raw outcome (rather than
a table of numbers) is what lets the Evaluate page open the examples behind a
confusion cell, list the most confident mistakes, draw a reliability diagram
and compare two models item by item, long after the run.

Metric conventions, chosen to match scikit-learn so the numbers can be checked
against it:

- per-class precision, recall and F1 cover every class of the model, with 0 where
  a ratio is undefined (a class never predicted, or with no examples);
- macro-F1 averages F1 over the classes that occur in the true labels or the
  predictions (scikit-learn's default set), so a class absent from both does
  not pull the average down;
- calibration uses equal-width confidence bins ``(lower, upper]`` (the first
  includes 0); the expected calibration error is the example-weighted mean of
  ``|accuracy - confidence|`` over the bins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.jobs import UserError
from engine.models.evaluation_format import (
    COMPACT_ABOVE_CLASSES,
    FORMAT,
    MSG_DAMAGED,
    TOP_K,
    VERSION,
    VERSION_TOP_K,
    checked_version,
    shortest,
)

#: Fewer validation rows than this cannot tell a model that learned from one that did not.
MIN_ROWS_TO_JUDGE = 10


@dataclass
class ClassReport:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class ReliabilityBin:
    lower: float
    upper: float
    confidence: float  # mean confidence of the examples in the bin (0 when empty)
    accuracy: float  # share of them predicted correctly (0 when empty)
    count: int


class Evaluation:
    """Predictions of one model on one labelled set; every metric derives from them.

    ``row_ids`` (optional) are the dataset rows the items came from, so a UI can
    correct a label in the dataset; ``skipped`` lists ``(item, reason)`` for rows
    that could not be evaluated (reason already translated).
    """

    def __init__(
        self,
        labels: Sequence[str],
        items: Sequence[str],
        y_true: np.ndarray,
        probs: np.ndarray,
        skipped: list[tuple[str, str]] | None = None,
        row_ids: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        self._setup(labels, items, y_true, skipped, row_ids)
        count, classes = len(self.items), len(self.labels)
        dense = np.asarray(probs, dtype=np.float32)
        if dense.size == 0:
            dense = dense.reshape(count, classes)
        if dense.shape != (count, classes):
            raise ValueError(
                f"shapes disagree: {count} items, {classes} labels, probs {dense.shape}"
            )
        self._probs: np.ndarray | None = dense
        self._top: tuple[np.ndarray, np.ndarray] | None = None
        self.y_pred = (
            dense.argmax(axis=1).astype(np.int64) if count else np.zeros(0, dtype=np.int64)
        )
        self.confidence = dense.max(axis=1) if count else np.zeros(0, dtype=np.float32)

    def _setup(
        self,
        labels: Sequence[str],
        items: Sequence[str],
        y_true: np.ndarray,
        skipped: list[tuple[str, str]] | None,
        row_ids: Sequence[int] | np.ndarray | None,
    ) -> None:
        """Everything but the probabilities, checked."""
        self.labels = [str(label) for label in labels]
        self.items = [str(item) for item in items]
        self.y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
        count, classes = len(self.items), len(self.labels)
        if classes == 0:
            raise ValueError("an evaluation needs at least one label")
        if self.y_true.shape != (count,):
            raise ValueError(f"shapes disagree: {count} items, y_true {self.y_true.shape}")
        if count and (self.y_true.min() < 0 or self.y_true.max() >= classes):
            raise ValueError("y_true holds a class index outside the labels")
        self.row_ids = None if row_ids is None else np.asarray(row_ids, dtype=np.int64)
        if self.row_ids is not None and self.row_ids.shape != (count,):
            raise ValueError("row_ids must have one id per item")
        self.skipped = [(str(item), str(reason)) for item, reason in (skipped or [])]
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_top_k(
        cls,
        labels: Sequence[str],
        items: Sequence[str],
        y_true: np.ndarray,
        indices: np.ndarray,
        values: np.ndarray,
        skipped: list[tuple[str, str]] | None = None,
        row_ids: Sequence[int] | np.ndarray | None = None,
    ) -> Evaluation:
        """An evaluation that kept only each row's k most likely classes, most likely first.

        Every metric and view needs only the top class and its probability, so this
        is exact for them; ``probs`` is rebuilt on demand with 0 for the classes left out.
        """
        self = cls.__new__(cls)
        self._setup(labels, items, y_true, skipped, row_ids)
        count, classes = len(self.items), len(self.labels)
        indices = np.asarray(indices, dtype=np.int64).reshape(count, -1)
        values = np.asarray(values, dtype=np.float32).reshape(count, -1)
        if indices.shape != values.shape or (count and not 1 <= indices.shape[1] <= classes):
            raise ValueError(f"top-k shapes disagree: {indices.shape}, {values.shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= classes):
            raise ValueError("top-k holds a class index outside the labels")
        self._probs, self._top = None, (indices, values)
        self.y_pred = indices[:, 0].copy() if count else np.zeros(0, dtype=np.int64)
        self.confidence = values[:, 0].copy() if count else np.zeros(0, dtype=np.float32)
        return self

    @property
    def probs(self) -> np.ndarray:
        """(items, labels) probabilities; for a compact evaluation, 0 outside each top k."""
        if self._probs is None:
            assert self._top is not None
            indices, values = self._top
            dense = np.zeros((len(self.items), len(self.labels)), dtype=np.float32)
            np.put_along_axis(dense, indices, values, axis=1)
            self._probs = dense
        return self._probs

    def top_k(self, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``k`` most likely classes and their probabilities, most likely first
        (ties: lower index first, as ``argmax`` picks)."""
        if self._top is not None and self._top[0].shape[1] >= min(k, len(self.labels)):
            return self._top[0][:, :k], self._top[1][:, :k]
        probs = self.probs
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return order.astype(np.int64), np.take_along_axis(probs, order, axis=1)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def correct(self) -> np.ndarray:
        """A boolean per item: was the most likely label the true one?"""
        return self.y_pred == self.y_true

    # ----------------------------------------------------------------- headline metrics
    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self) else 0.0

    @property
    def macro_f1(self) -> float:
        if not len(self):
            return 0.0
        present = np.union1d(self.y_true, self.y_pred)
        return float(self._scores()[2][present].mean())

    def _scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if "scores" not in self._cache:
            classes = len(self.labels)
            if not len(self):
                zeros = np.zeros(classes)
                self._cache["scores"] = (zeros, zeros, zeros, np.zeros(classes, dtype=np.int64))
            else:
                from sklearn.metrics import precision_recall_fscore_support

                self._cache["scores"] = precision_recall_fscore_support(
                    self.y_true, self.y_pred, labels=np.arange(classes), zero_division=0
                )
        return self._cache["scores"]

    def per_class(self) -> list[ClassReport]:
        precision, recall, f1, support = self._scores()
        return [
            ClassReport(label, float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(self.labels, precision, recall, f1, support, strict=True)
        ]

    def confusion(self) -> np.ndarray:
        """C x C counts; rows are the true classes, columns the predicted ones."""
        if "confusion" not in self._cache:
            classes = len(self.labels)
            if not len(self):
                matrix = np.zeros((classes, classes), dtype=np.int64)
            else:
                from sklearn.metrics import confusion_matrix

                matrix = confusion_matrix(self.y_true, self.y_pred, labels=np.arange(classes))
            self._cache["confusion"] = matrix.astype(np.int64)
        return self._cache["confusion"].copy()

    def _by_confidence(self, mask: np.ndarray) -> list[int]:
        indices = np.flatnonzero(mask)
        order = np.argsort(-self.confidence[indices], kind="stable")
        return [int(i) for i in indices[order]]

    def cell_examples(self, true_index: int, pred_index: int) -> list[int]:
        """Items of one confusion cell (positions in ``items``), most confident first."""
        return self._by_confidence((self.y_true == true_index) & (self.y_pred == pred_index))

    def misclassified(self) -> list[int]:
        """Wrongly predicted items, most confident mistakes first (the most telling ones)."""
        return self._by_confidence(~self.correct)

    # ----------------------------------------------------------------- calibration
    def reliability(self, n_bins: int = 10) -> list[ReliabilityBin]:
        """Equal-width confidence bins ``(lower, upper]``; empty bins have count 0."""
        if n_bins < 1:
            raise ValueError("n_bins must be at least 1")
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        confidence = self.confidence.astype(np.float64)
        which = np.searchsorted(edges[1:-1], confidence, side="left")
        counts = np.bincount(which, minlength=n_bins)
        conf_sums = np.bincount(which, weights=confidence, minlength=n_bins)
        right_sums = np.bincount(which, weights=self.correct.astype(np.float64), minlength=n_bins)
        bins = []
        for index in range(n_bins):
            count = int(counts[index])
            bins.append(
                ReliabilityBin(
                    float(edges[index]),
                    float(edges[index + 1]),
                    float(conf_sums[index] / count) if count else 0.0,
                    float(right_sums[index] / count) if count else 0.0,
                    count,
                )
            )
        return bins

    def expected_calibration_error(self, n_bins: int = 10) -> float:
        if not len(self):
            return 0.0
        return float(
            sum(b.count * abs(b.accuracy - b.confidence) for b in self.reliability(n_bins))
            / len(self)
        )

    # ----------------------------------------------------------------- persistence
    def summary(self) -> dict[str, float | int]:
        """The headline numbers, JSON-able (they go into a model package's metrics)."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "ece": self.expected_calibration_error(),
            "count": len(self),
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-able form; above ``COMPACT_ABOVE_CLASSES`` classes only each row's top
        ``TOP_K`` probabilities are kept (full vectors grew to hundreds of megabytes)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "labels": list(self.labels),
            "items": list(self.items),
            "y_true": self.y_true.tolist(),
            "skipped": [list(pair) for pair in self.skipped],
            "summary": self.summary(),
        }
        if len(self.labels) > COMPACT_ABOVE_CLASSES or self._probs is None:
            indices, values = self.top_k(TOP_K)
            data["version"] = VERSION_TOP_K
            data["top_k"] = {"indices": indices.tolist(), "probs": shortest(values)}
        else:
            data["probs"] = shortest(self.probs)
        if self.row_ids is not None:
            data["row_ids"] = self.row_ids.tolist()
        return data

    @classmethod
    def from_json(cls, data: Any) -> Evaluation:
        """Read ``to_json``'s output back (either form), refusing anything malformed with a
        ``UserError``."""
        version = checked_version(data)
        common = (data["labels"], data["items"], np.asarray(data["y_true"], dtype=np.int64))
        rest = ([tuple(pair) for pair in data.get("skipped", [])], data.get("row_ids"))
        count = len(data["items"])
        try:
            if version == VERSION_TOP_K:
                top = data["top_k"]
                return cls.from_top_k(
                    *common,
                    np.asarray(top["indices"], dtype=np.int64).reshape(count, -1),
                    np.asarray(top["probs"], dtype=np.float32).reshape(count, -1),
                    *rest,
                )
            return cls(
                *common,
                np.asarray(data["probs"], dtype=np.float32).reshape(count, len(data["labels"])),
                *rest,
            )
        except (ValueError, TypeError) as error:
            raise UserError(MSG_DAMAGED, details=str(error)) from error

    # ----------------------------------------------------------------- did it learn?
    def chance_accuracy(self) -> float:
        """What always guessing the most common true class would score."""
        if not len(self):
            return 0.0
        return float(np.bincount(self.y_true).max() / len(self))

    def learned_nothing(self) -> bool:
        """Whether the model did no better than guessing, so it must not replace a good one.

        Both must hold: the balanced accuracy (mean recall over the classes present,
        which guessing puts at 1/K whatever the class shares) is within noise of 1/K,
        and the log loss is no better than always giving the class shares (a model
        that learned anything beats that). Too few rows to tell count as learned.
        """
        count = len(self)
        counts = np.bincount(self.y_true, minlength=len(self.labels))
        present = counts[counts > 0]
        if count < MIN_ROWS_TO_JUDGE or len(present) < 2:
            return False
        chance = 1.0 / len(present)
        recall = self._scores()[1][counts > 0]
        noise = 2.0 * math.sqrt(float((chance * (1 - chance) / present).sum())) / len(present)
        shares = present / count
        entropy = float(-(shares * np.log(shares)).sum())
        right = self.probs[np.arange(count), self.y_true]
        loss = float(-np.log(np.clip(right, 1e-7, 1.0)).mean())
        return float(recall.mean()) <= chance + noise and loss >= 0.98 * entropy
