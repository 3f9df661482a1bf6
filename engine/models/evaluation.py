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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress

FORMAT = "taxon-evaluation"
VERSION = 1
#: The compact form: top-k probabilities per row instead of the full vectors.
VERSION_TOP_K = 2
#: Above this many classes an evaluation is saved compactly (5,000 classes made 367 MB).
COMPACT_ABOVE_CLASSES = 100
TOP_K = 5
#: Fewer validation rows than this cannot tell a model that learned from one that did not.
MIN_ROWS_TO_JUDGE = 10

MSG_DAMAGED = N_("The evaluation file is damaged and cannot be read.")
MSG_EVALUATING = N_("Evaluating the model…")
MSG_NO_LABEL = N_("This row has no label.")
MSG_UNKNOWN_LABEL = N_("The model does not know the label {label}.")
MSG_NOT_CLASSIFIED = N_("This image was not classified.")
MSG_TASK_MISMATCH = {
    "image": N_("This is an image model: it cannot be evaluated on a text dataset."),
    "text": N_("This is a text model: it cannot be evaluated on an image dataset."),
}
MSG_NO_ROWS = N_("No row of this dataset has a label the model knows, so there is nothing to "
                 "evaluate.")

#: Texts per ``predict_texts`` call: small enough for progress and cancel twice a second.
TEXT_BATCH = 64


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

    def __init__(self, labels: Sequence[str], items: Sequence[str], y_true: np.ndarray,
                 probs: np.ndarray, skipped: list[tuple[str, str]] | None = None,
                 row_ids: Sequence[int] | np.ndarray | None = None) -> None:
        self._setup(labels, items, y_true, skipped, row_ids)
        count, classes = len(self.items), len(self.labels)
        dense = np.asarray(probs, dtype=np.float32)
        if dense.size == 0:
            dense = dense.reshape(count, classes)
        if dense.shape != (count, classes):
            raise ValueError(f"shapes disagree: {count} items, {classes} labels, "
                             f"probs {dense.shape}")
        self._probs: np.ndarray | None = dense
        self._top: tuple[np.ndarray, np.ndarray] | None = None
        self.y_pred = dense.argmax(axis=1).astype(np.int64) if count else \
            np.zeros(0, dtype=np.int64)
        self.confidence = dense.max(axis=1) if count else np.zeros(0, dtype=np.float32)

    def _setup(self, labels: Sequence[str], items: Sequence[str], y_true: np.ndarray,
               skipped: list[tuple[str, str]] | None,
               row_ids: Sequence[int] | np.ndarray | None) -> None:
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
    def from_top_k(cls, labels: Sequence[str], items: Sequence[str], y_true: np.ndarray,
                   indices: np.ndarray, values: np.ndarray,
                   skipped: list[tuple[str, str]] | None = None,
                   row_ids: Sequence[int] | np.ndarray | None = None) -> Evaluation:
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
                    self.y_true, self.y_pred, labels=np.arange(classes), zero_division=0)
        return self._cache["scores"]

    def per_class(self) -> list[ClassReport]:
        precision, recall, f1, support = self._scores()
        return [ClassReport(label, float(p), float(r), float(f), int(s))
                for label, p, r, f, s in zip(self.labels, precision, recall, f1, support,
                                             strict=True)]

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
            bins.append(ReliabilityBin(
                float(edges[index]), float(edges[index + 1]),
                float(conf_sums[index] / count) if count else 0.0,
                float(right_sums[index] / count) if count else 0.0, count))
        return bins

    def expected_calibration_error(self, n_bins: int = 10) -> float:
        if not len(self):
            return 0.0
        return float(sum(b.count * abs(b.accuracy - b.confidence)
                         for b in self.reliability(n_bins)) / len(self))

    # ----------------------------------------------------------------- persistence
    def summary(self) -> dict[str, float | int]:
        """The headline numbers, JSON-able (they go into a model package's metrics)."""
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1,
                "ece": self.expected_calibration_error(), "count": len(self)}

    def to_json(self) -> dict[str, Any]:
        """JSON-able form; above ``COMPACT_ABOVE_CLASSES`` classes only each row's top
        ``TOP_K`` probabilities are kept (full vectors grew to hundreds of megabytes)."""
        data: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "labels": list(self.labels),
            "items": list(self.items), "y_true": self.y_true.tolist(),
            "skipped": [list(pair) for pair in self.skipped], "summary": self.summary(),
        }
        if len(self.labels) > COMPACT_ABOVE_CLASSES or self._probs is None:
            indices, values = self.top_k(TOP_K)
            data["version"] = VERSION_TOP_K
            data["top_k"] = {"indices": indices.tolist(), "probs": _shortest(values)}
        else:
            data["probs"] = _shortest(self.probs)
        if self.row_ids is not None:
            data["row_ids"] = self.row_ids.tolist()
        return data

    @classmethod
    def from_json(cls, data: Any) -> Evaluation:
        """Read ``to_json``'s output back (either form), refusing anything malformed with a
        ``UserError``."""
        problem = _json_problem(data)
        if problem:
            raise UserError(MSG_DAMAGED, details=problem)
        common = (data["labels"], data["items"], np.asarray(data["y_true"], dtype=np.int64))
        rest = ([tuple(pair) for pair in data.get("skipped", [])], data.get("row_ids"))
        count = len(data["items"])
        try:
            if data["version"] == VERSION_TOP_K:
                top = data["top_k"]
                return cls.from_top_k(*common, np.asarray(top["indices"], dtype=np.int64)
                                      .reshape(count, -1),
                                      np.asarray(top["probs"], dtype=np.float32)
                                      .reshape(count, -1), *rest)
            return cls(*common, np.asarray(data["probs"], dtype=np.float32).reshape(
                count, len(data["labels"])), *rest)
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


def _shortest(values: np.ndarray) -> list[list[float]]:
    """float32's shortest decimal form: exact on reading back, and a compact file."""
    return [[float(value) for value in row] for row in values.astype(np.float32).astype(str)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_problem(data: Any) -> str | None:
    """What is wrong with an evaluation's JSON, in words for the log (None when fine)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("format") != FORMAT:
        return f"format is {data.get('format')!r}, expected {FORMAT!r}"
    if data.get("version") not in (VERSION, VERSION_TOP_K) or isinstance(data["version"], bool):
        return f"unsupported version {data.get('version')!r}"
    labels, items = data.get("labels"), data.get("items")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        return "labels must be a non-empty list of strings"
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        return "items must be a list of strings"
    y_true, probs = data.get("y_true"), data.get("probs")
    if not isinstance(y_true, list) or len(y_true) != len(items):
        return "y_true must have one entry per item"
    if not all(_is_int(v) and 0 <= v < len(labels) for v in y_true):
        return "y_true holds something other than a label index"
    problem = (_top_k_problem(data.get("top_k"), len(items), len(labels))
               if data["version"] == VERSION_TOP_K else _probs_problem(probs, len(items), len(labels)))
    if problem:
        return problem
    skipped = data.get("skipped", [])
    if not isinstance(skipped, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in skipped):
        return "skipped must be a list of [item, reason] pairs"
    row_ids = data.get("row_ids")
    if row_ids is not None and (not isinstance(row_ids, list) or len(row_ids) != len(items)
                                or not all(_is_int(v) for v in row_ids)):
        return "row_ids must hold one integer per item"
    return None


def _probs_problem(probs: Any, count: int, classes: int) -> str | None:
    if not isinstance(probs, list) or len(probs) != count:
        return "probs must have one row per item"
    for row in probs:
        if not isinstance(row, list) or len(row) != classes:
            return "a probs row does not have one value per label"
        if not all(_is_number(v) and -1e-6 <= v <= 1 + 1e-6 for v in row):
            return "probs holds a value that is not a probability"
    return None


def _top_k_problem(top: Any, count: int, classes: int) -> str | None:
    if not isinstance(top, dict):
        return "top_k must be an object"
    indices, values = top.get("indices"), top.get("probs")
    if not isinstance(indices, list) or not isinstance(values, list) \
            or len(indices) != count or len(values) != count:
        return "top_k must have one row per item"
    width = len(indices[0]) if count and isinstance(indices[0], list) else 1
    if count and not 1 <= width <= classes:
        return "top_k rows must hold between one and all labels"
    for row, chances in zip(indices, values, strict=True):
        if not isinstance(row, list) or not isinstance(chances, list) \
                or len(row) != width or len(chances) != width:
            return "a top_k row does not have k entries"
        if not all(_is_int(v) and 0 <= v < classes for v in row) or len(set(row)) != width:
            return "top_k holds something other than distinct label indices"
        if not all(_is_number(v) and -1e-6 <= v <= 1 + 1e-6 for v in chances):
            return "top_k holds a value that is not a probability"
        if any(later > earlier for earlier, later in zip(chances, chances[1:], strict=False)):
            return "top_k rows must be most likely first"
    return None


# --------------------------------------------------------------------------- the job


def evaluate_classifier(classifier, dataset, progress: Progress | None = None,
                        cancel: CancelToken | None = None) -> Evaluation:
    """Run ``classifier`` on every labelled row of ``dataset`` and keep the outcome.

    Rows without a label, with a label the model does not know, or whose image
    cannot be read are not counted; they are listed in ``skipped`` with a
    translated reason, so the user sees why the count is lower than the rows.
    """
    from engine.data.datasets import ITEM, LABEL, ROW_ID

    progress = progress or no_progress
    cancel = cancel or CancelToken()
    task = getattr(classifier, "task", "image")
    if task != dataset.task:
        raise UserError(MSG_TASK_MISMATCH[task], details=f"model {task}, dataset {dataset.task}")
    labels = list(classifier.labels)
    index_of = {label: index for index, label in enumerate(labels)}
    frame = dataset.frame
    skipped: list[tuple[str, str]] = []
    rows: list[tuple[int, str, int]] = []  # row_id, item, true class
    for row_id, item, label in zip(frame[ROW_ID].tolist(), frame[ITEM].tolist(),
                                   frame[LABEL].tolist(), strict=True):
        item = item if isinstance(item, str) else ""
        if not isinstance(label, str):
            skipped.append((item, _(MSG_NO_LABEL)))
        elif label not in index_of:
            skipped.append((item, _(MSG_UNKNOWN_LABEL).format(label=label)))
        else:
            rows.append((int(row_id), item, index_of[label]))
    if not rows:
        raise UserError(MSG_NO_ROWS)
    if task == "text":
        probs = _text_probs(classifier, [item for _id, item, _y in rows], progress, cancel)
        kept = rows
    else:
        kept, probs = _image_probs(classifier, rows, labels, skipped, progress, cancel)
    progress(len(rows), len(rows), _(MSG_EVALUATING))
    return Evaluation(labels, [item for _id, item, _y in kept],
                      np.array([y for _id, _item, y in kept], dtype=np.int64),
                      probs.reshape(len(kept), len(labels)), skipped,
                      row_ids=[row_id for row_id, _item, _y in kept])


def _text_probs(classifier, texts: list[str], progress: Progress,
                cancel: CancelToken) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), TEXT_BATCH):
        cancel.raise_if_cancelled()
        progress(start, len(texts), _(MSG_EVALUATING))
        part = np.asarray(classifier.predict_texts(texts[start:start + TEXT_BATCH]),
                          dtype=np.float32)
        parts.append(part.reshape(-1, len(classifier.labels)))
    return np.concatenate(parts) if parts else np.zeros((0, len(classifier.labels)), np.float32)


def _image_probs(classifier, rows, labels, skipped, progress, cancel):
    """Classify the rows' images; unreadable ones move to ``skipped``."""
    from pathlib import Path

    from engine.models.inference import classify_images

    paths = [item for _id, item, _y in rows if item]  # "" would mean the current folder
    last = [0.0]

    def report(done: int, total: int | None, _message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or (total is not None and done >= total):
            last[0] = now
            progress(done, total, _(MSG_EVALUATING))

    results = classify_images(classifier, paths, top_k=len(labels), progress=report,
                              cancel=cancel)
    by_input = {result.input: result for result in results}
    column = {label: index for index, label in enumerate(labels)}
    kept, vectors = [], []
    for row in rows:
        result = by_input.get(str(Path(row[1]))) if row[1] else None
        if result is None or result.error is not None:
            reason = result.error if result is not None else _(MSG_NOT_CLASSIFIED)
            skipped.append((row[1], reason))
            continue
        vector = np.zeros(len(labels), dtype=np.float32)
        for prediction in result.predictions:
            vector[column[prediction.label]] = prediction.score
        kept.append(row)
        vectors.append(vector)
    probs = np.stack(vectors) if vectors else np.zeros((0, len(labels)), dtype=np.float32)
    return kept, probs


# --------------------------------------------------------------------------- comparing


def compare(a: Evaluation, b: Evaluation) -> dict[str, Any]:
    """Two evaluations side by side: each one's summary, ``b - a``, and item agreement.

    Items are matched by dataset row id when both have them, else by the item
    itself. On the items both evaluated, ``only_a_right`` counts those ``a``
    gets right and ``b`` wrong, and so on; ``same_items`` says the two runs
    covered exactly the same items (only then are the headline numbers
    directly comparable).
    """
    first, second = a.summary(), b.summary()
    result: dict[str, Any] = {
        "a": first, "b": second,
        "delta": {key: second[key] - first[key] for key in ("accuracy", "macro_f1", "ece")},
    }
    use_ids = a.row_ids is not None and b.row_ids is not None
    keys_a = a.row_ids.tolist() if use_ids else a.items
    keys_b = b.row_ids.tolist() if use_ids else b.items
    position_a = {key: index for index, key in enumerate(keys_a)}
    position_b = {key: index for index, key in enumerate(keys_b)}
    common = [key for key in position_a if key in position_b]
    right_a = _right_by_name(a)
    right_b = _right_by_name(b)
    pairs = [(bool(right_a[position_a[key]]), bool(right_b[position_b[key]])) for key in common]
    result.update(
        common=len(common),
        same_items=bool(common) and len(common) == len(position_a) == len(position_b)
        and len(keys_a) == len(keys_b) == len(common),
        both_right=sum(1 for x, y in pairs if x and y),
        only_a_right=sum(1 for x, y in pairs if x and not y),
        only_b_right=sum(1 for x, y in pairs if y and not x),
        both_wrong=sum(1 for x, y in pairs if not x and not y),
    )
    return result


def _right_by_name(evaluation: Evaluation) -> np.ndarray:
    """Correct per item, comparing label names (two models may order their labels differently)."""
    names = np.asarray(evaluation.labels, dtype=object)
    return names[evaluation.y_pred] == names[evaluation.y_true]
