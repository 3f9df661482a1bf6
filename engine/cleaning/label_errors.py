"""Likely label errors: rows whose label a model trained on the *other* rows doubts.

Out-of-fold predicted probabilities (stratified K folds, K = min(5, smallest class))
from a fast linear model, then cleanlab's confident-learning filter ranks the rows
whose given label is least believable. Text uses character n-gram TF-IDF, which
works for every language and script without a tokenizer; images (or anything else)
pass a feature matrix, e.g. the built-in CNN's embeddings.

Classes with fewer than two rows cannot be split into folds; they are left out of
the model (``label.too_few`` reports them), and the check needs at least two
classes with two rows each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.cleaning.common import label_codes, plural, preview_rows
from engine.cleaning.findings import Finding, Fix, Message
from engine.datasets import ITEM, Dataset
from engine.i18n import N_, Nn_, _
from engine.jobs import CancelToken, Progress, no_progress

__all__ = ["LabelErrorScores", "find_label_errors", "label_error_scores"]

MAX_FOLDS = 5
SEED = 0
ALPHA = 1e-4  # SGD regularisation for TF-IDF features (sklearn default; best here)
#: How many ranked rows a finding previews.
PREVIEW_ERRORS = 10


@dataclass(frozen=True)
class LabelErrorScores:
    """``issues``: positions (into the inputs) of likely errors, most likely first."""

    classes: list[str]
    pred_probs: np.ndarray  # out-of-fold, rows x classes
    labels: np.ndarray  # class index of each row's given label
    issues: np.ndarray

    @property
    def suggested(self) -> np.ndarray:
        return self.pred_probs.argmax(axis=1)

    @property
    def self_confidence(self) -> np.ndarray:
        return self.pred_probs[np.arange(len(self.labels)), self.labels]


def _text_features(texts: list[str]):
    """Character 2-4-grams within word boundaries, sublinear TF: robust to spelling
    noise and language-agnostic (no tokenizer, works for Chinese and Arabic)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                 max_features=200_000, dtype=np.float32, min_df=1)
    return vectorizer.fit_transform(texts)


def _model(sparse_input: bool):
    """A linear model with probabilities. Sparse TF-IDF: logistic loss by SGD, as
    accurate as full logistic regression here and ~4x faster (measured on 10k and
    50k rows: 0.5 s vs 2.7-3.2 s for 5 folds on 10k). Dense embeddings: scaled,
    then multinomial logistic regression (lbfgs; few dimensions, so it is quick)."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if sparse_input:
        return SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=50, tol=1e-3,
                             random_state=SEED)
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))


def label_error_scores(features_or_texts, labels, progress: Progress = no_progress,
                       cancel: CancelToken | None = None) -> LabelErrorScores | None:
    """Rank likely label errors for ``labels`` (strings, one per row) given either a
    list of texts or a feature matrix (numpy, rows x dims). ``None`` when fewer than
    two classes have two rows."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold

    cancel = cancel or CancelToken()
    classes, y = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    counts = np.bincount(y, minlength=len(classes))
    if (counts >= 2).sum() < 2:
        return None
    if (counts < 2).any():
        raise ValueError("every class needs at least two rows; leave the others out")
    if isinstance(features_or_texts, np.ndarray):
        features, sparse_input = np.asarray(features_or_texts, dtype=np.float32), False
    else:
        progress(0, None, _("Reading the texts…"))
        features, sparse_input = _text_features(list(features_or_texts)), True
    folds = min(MAX_FOLDS, int(counts.min()))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    pred_probs = np.zeros((len(y), len(classes)), dtype=np.float64)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        cancel.raise_if_cancelled()
        progress(fold, folds, _("Cross-checking the labels ({fold} of {folds})…")
                 .format(fold=fold + 1, folds=folds))
        model = _model(sparse_input).fit(features[train], y[train])
        fitted = model.classes_ if hasattr(model, "classes_") else model[-1].classes_
        pred_probs[np.ix_(test, fitted)] = model.predict_proba(features[test])
    cancel.raise_if_cancelled()
    progress(folds, folds, _("Ranking likely label errors…"))
    issues = find_label_issues(y, pred_probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    return LabelErrorScores(list(classes), pred_probs, y, np.asarray(issues, dtype=np.int64))


def find_label_errors(dataset: Dataset, features: np.ndarray | None = None,
                      progress: Progress = no_progress,
                      cancel: CancelToken | None = None) -> list[Finding]:
    """``label.likely_errors`` for a dataset. ``features`` (rows aligned with
    ``dataset.frame``) is required for images; text uses TF-IDF when it is None."""
    cancel = cancel or CancelToken()
    cancel.raise_if_cancelled()
    frame = dataset.frame
    codes, _names, missing = label_codes(frame)
    usable = ~missing
    if features is None:
        if dataset.task != "text":
            return []
        texts = frame[ITEM].astype("string").fillna("").str.strip()
        usable &= (texts != "").to_numpy()
    else:  # unreadable images have NaN features: they are reported by their own check
        usable &= np.isfinite(np.asarray(features, dtype=np.float32)).all(axis=1)
    counts = np.bincount(codes[usable], minlength=len(_names)) if usable.any() else np.zeros(0)
    usable &= np.isin(codes, np.flatnonzero(counts >= 2))
    positions = np.flatnonzero(usable)
    inputs = (np.asarray(features)[positions] if features is not None
              else texts.to_numpy(dtype=object)[positions].tolist())
    labels = frame["label"].to_numpy(dtype=object)[positions]
    scores = label_error_scores(inputs, labels, progress, cancel) if len(positions) else None
    if scores is None or len(scores.issues) == 0:
        return []
    ranked = scores.issues
    where = positions[ranked]
    suggested = np.asarray(scores.classes, dtype=object)[scores.suggested[ranked]]
    confidence = scores.pred_probs[ranked, scores.suggested[ranked]]
    ids = frame["row_id"].to_numpy()[where].tolist()
    n = len(ids)
    return [Finding(
        kind="label.likely_errors", severity="warning",
        title=plural(*Nn_("{n} row may have the wrong label", "{n} rows may have the wrong label"), n),
        explanation=Message(N_("A model trained on the other rows confidently predicts a different "
                               "label for these rows. Check them, most doubtful first: some will be "
                               "labelling mistakes, some genuinely ambiguous examples.")),
        row_ids=tuple(ids),  # ranked: most likely error first
        fix=Fix("relabel", {"labels": {int(i): str(s) for i, s in zip(ids, suggested, strict=True)}},
                plural(*Nn_("Change {n} label to the suggested one",
                            "Change {n} labels to the suggested ones"), n)),
        preview=preview_rows(frame, where, limit=PREVIEW_ERRORS, suggested=suggested,
                             confidence=np.round(confidence, 3),
                             given_confidence=np.round(scores.self_confidence[ranked], 3)),
        stats={"rows_checked": len(positions), "folds": min(MAX_FOLDS, int(counts[counts >= 2].min())),
               "classes": len(scores.classes)},
    )]
