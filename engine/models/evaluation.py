"""Evaluating a model on a labelled dataset, and comparing two evaluations.

The outcome of a run is an ``Evaluation`` (``engine.models.evaluation_record``),
which derives every metric from the raw predictions; its file form is
``engine.models.evaluation_format``. Both are imported from here too, the one
place callers need to know.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.models.evaluation_record import ClassReport, Evaluation, ReliabilityBin

__all__ = ["ClassReport", "Evaluation", "ReliabilityBin", "compare", "evaluate_classifier"]

MSG_EVALUATING = N_("Evaluating the model…")
MSG_NO_LABEL = N_("This row has no label.")
MSG_UNKNOWN_LABEL = N_("The model does not know the label {label}.")
MSG_NOT_CLASSIFIED = N_("This image was not classified.")
MSG_TASK_MISMATCH = {
    "image": N_("This is an image model: it cannot be evaluated on a text dataset."),
    "text": N_("This is a text model: it cannot be evaluated on an image dataset."),
}
MSG_NO_ROWS = N_(
    "No row of this dataset has a label the model knows, so there is nothing to evaluate."
)

#: Texts per ``predict_texts`` call: small enough for progress and cancel twice a second.
TEXT_BATCH = 64


# --------------------------------------------------------------------------- the job


def evaluate_classifier(
    classifier, dataset, progress: Progress | None = None, cancel: CancelToken | None = None
) -> Evaluation:
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
    for row_id, item, label in zip(
        frame[ROW_ID].tolist(), frame[ITEM].tolist(), frame[LABEL].tolist(), strict=True
    ):
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
    return Evaluation(
        labels,
        [item for _id, item, _y in kept],
        np.array([y for _id, _item, y in kept], dtype=np.int64),
        probs.reshape(len(kept), len(labels)),
        skipped,
        row_ids=[row_id for row_id, _item, _y in kept],
    )


def _text_probs(
    classifier, texts: list[str], progress: Progress, cancel: CancelToken
) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), TEXT_BATCH):
        cancel.raise_if_cancelled()
        progress(start, len(texts), _(MSG_EVALUATING))
        part = np.asarray(
            classifier.predict_texts(texts[start : start + TEXT_BATCH]), dtype=np.float32
        )
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

    results = classify_images(classifier, paths, top_k=len(labels), progress=report, cancel=cancel)
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
        "a": first,
        "b": second,
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
        same_items=bool(common)
        and len(common) == len(position_a) == len(position_b)
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
