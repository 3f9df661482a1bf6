"""Likely label errors: rows whose label a model trained on the *other* rows doubts.

Out-of-fold predicted probabilities (stratified K folds, K = min(5, smallest class),
seeded) from a well-regularised linear model, then cleanlab's confident-learning
filter (``prune_by_noise_rate``). Images pass the built-in CNN's features and text
the multilingual-e5 vectors (``engine.cleaning.run`` computes both, cached); text
falls back to character n-gram TF-IDF when no features are given.

Two things make a flag worth acting on (measured by ``bench/health_quality.py``;
see docs/performance.md): the probabilities come from a *second* round of folds
whose models never saw the rows the first round flagged (a flipped label teaches
its neighbours the wrong class), and a row cleanlab flags in either round is only
reported when that second model gives its given label less than chance,
``1 / number of classes``. On digits with 10% flipped labels this lifts precision from
0.59 to about 0.9 at the same recall, and flags 3 of 1,797 clean digits instead of 23.

Classes with fewer than two rows cannot be split into folds; they are left out of
the model (``label.too_few`` reports them), and the check needs at least two
classes with two rows each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.cleaning.common import label_codes, plural, preview_rows
from engine.cleaning.findings import Finding, Fix, Message
from engine.core.i18n import N_, Nn_, _
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import ITEM, Dataset

__all__ = ["LabelErrorScores", "find_label_errors", "label_error_scores"]

MAX_FOLDS = 5
SEED = 0
ALPHA = 1e-4  # SGD regularisation for TF-IDF features (sklearn default; best here)
#: L2 strength per training row for dense (standardised) features: sklearn's C is
#: 1 / (ALPHA_DENSE * rows), so the penalty keeps its weight as data grows or shrinks.
#: 0.07 is C = 0.01 on 1,438 rows, which beat C = 0.003-1 on digits and chatterbot
#: (strong regularisation = fewer confident wrong predictions).
ALPHA_DENSE = 0.07
#: cleanlab's filter; 'both' and 'confident_learning' lost recall in the benchmark.
FILTER_BY = "prune_by_noise_rate"
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

    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        sublinear_tf=True,
        max_features=200_000,
        dtype=np.float32,
        min_df=1,
    )
    return vectorizer.fit_transform(texts)


def _standardized(features: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Zero mean, unit variance per dimension over all rows. Uses no labels, so fitting
    it on every row leaks nothing into the folds, and every fold sees one scale.
    ``in_place``: ``features`` is the caller's scratch copy (float32) and is scaled itself;
    at 100,000 images each full-size copy is another 0.5 GB."""
    scaled = features if in_place else np.array(features, dtype=np.float32)
    spread = scaled.std(axis=0)
    scaled -= scaled.mean(axis=0)
    scaled /= np.where(spread > 0, spread, 1.0).astype(np.float32)
    return scaled


def _model(sparse_input: bool, rows: int):
    """A linear model with probabilities. Sparse TF-IDF: logistic loss by SGD, as
    accurate as full logistic regression here and ~4x faster. Dense embeddings
    (standardised): strongly regularised multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    if sparse_input:
        return SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=50, tol=1e-3, random_state=SEED)
    return LogisticRegression(C=1.0 / (ALPHA_DENSE * max(rows, 1)), max_iter=300)


def _out_of_fold(
    features,
    y: np.ndarray,
    n_classes: int,
    sparse_input: bool,
    folds: int,
    report,
    cancel: CancelToken,
    left_out: np.ndarray | None = None,
) -> np.ndarray:
    """Probabilities for each row from a model trained on the other folds, without the
    ``left_out`` rows (suspected errors) in any training set."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    pred_probs = np.zeros((len(y), n_classes), dtype=np.float64)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        cancel.raise_if_cancelled()
        report(fold)
        if left_out is not None and len(np.unique(y[train[~left_out[train]]])) >= 2:
            train = train[~left_out[train]]
        model = _model(sparse_input, len(train)).fit(features[train], y[train])
        pred_probs[np.ix_(test, model.classes_)] = model.predict_proba(features[test])
    return pred_probs


def label_error_scores(
    features_or_texts,
    labels,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    scale_in_place: bool = False,
) -> LabelErrorScores | None:
    """Rank likely label errors for ``labels`` (strings, one per row) given either a
    list of texts or a feature matrix (numpy, rows x dims). ``None`` when fewer than
    two classes have two rows. ``scale_in_place``: the matrix is a float32 copy the
    caller no longer needs, standardised where it lies instead of copied again."""
    from cleanlab.filter import find_label_issues

    cancel = cancel or CancelToken()
    classes, y = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    counts = np.bincount(y, minlength=len(classes))
    if (counts >= 2).sum() < 2:
        return None
    if (counts < 2).any():
        raise ValueError("every class needs at least two rows; leave the others out")
    if isinstance(features_or_texts, np.ndarray):
        in_place = scale_in_place and features_or_texts.dtype == np.float32
        features, sparse_input = _standardized(features_or_texts, in_place), False
    else:
        progress(0, None, _("Reading the texts…"))
        features, sparse_input = _text_features(list(features_or_texts)), True
    folds = min(MAX_FOLDS, int(counts.min()))

    def report_round(first: int):
        def report(fold: int) -> None:
            progress(
                first + fold,
                2 * folds,
                _("Cross-checking the labels ({fold} of {folds})…").format(
                    fold=first + fold + 1, folds=2 * folds
                ),
            )

        return report

    first = _out_of_fold(features, y, len(classes), sparse_input, folds, report_round(0), cancel)
    suspects = find_label_issues(y, first, filter_by=FILTER_BY, n_jobs=1)
    pred_probs = _out_of_fold(
        features,
        y,
        len(classes),
        sparse_input,
        folds,
        report_round(folds),
        cancel,
        left_out=suspects,
    )
    cancel.raise_if_cancelled()
    progress(2 * folds, 2 * folds, _("Ranking likely label errors…"))
    flagged = suspects | find_label_issues(y, pred_probs, filter_by=FILTER_BY, n_jobs=1)
    given = pred_probs[np.arange(len(y)), y]
    flagged &= given < 1.0 / len(classes)  # the model finds the given label less than chance
    issues = np.flatnonzero(flagged)
    issues = issues[np.argsort(given[issues], kind="stable")]  # least believable first
    return LabelErrorScores(list(classes), pred_probs, y, issues.astype(np.int64))


def find_label_errors(
    dataset: Dataset,
    features: np.ndarray | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> list[Finding]:
    """``label.likely_errors`` for a dataset. ``features`` (rows aligned with
    ``dataset.frame``) is required for images; text uses TF-IDF when it is None.
    Each flagged row's suggested label and that label's out-of-fold probability are
    in ``row_details``, so a person can check a suggestion before accepting it."""
    cancel = cancel or CancelToken()
    cancel.raise_if_cancelled()
    frame = dataset.frame
    codes, _names, missing = label_codes(frame)
    usable = ~missing
    if features is None and dataset.task != "text":
        return []
    if dataset.task == "text":  # blank texts are reported by their own check
        texts = frame[ITEM].astype("string").fillna("").str.strip()
        usable &= (texts != "").to_numpy()
    if features is not None:  # unreadable images have NaN features: their own check too
        usable &= np.isfinite(np.asarray(features, dtype=np.float32)).all(axis=1)
    counts = np.bincount(codes[usable], minlength=len(_names)) if usable.any() else np.zeros(0)
    usable &= np.isin(codes, np.flatnonzero(counts >= 2))
    positions = np.flatnonzero(usable)
    inputs = (
        np.asarray(features, dtype=np.float32)[positions]  # a copy of its own: scaled in place
        if features is not None
        else texts.to_numpy(dtype=object)[positions].tolist()
    )
    labels = frame["label"].to_numpy(dtype=object)[positions]
    scores = (
        label_error_scores(inputs, labels, progress, cancel, scale_in_place=True)
        if len(positions)
        else None
    )
    if scores is None or len(scores.issues) == 0:
        return []
    ranked = scores.issues
    where = positions[ranked]
    suggested = np.asarray(scores.classes, dtype=object)[scores.suggested[ranked]]
    confidence = scores.pred_probs[ranked, scores.suggested[ranked]]
    ids = frame["row_id"].to_numpy()[where].tolist()
    n = len(ids)
    details = {
        int(row): {"suggested_label": str(label), "confidence": round(float(p), 3)}
        for row, label, p in zip(ids, suggested, confidence, strict=True)
    }
    return [
        Finding(
            kind="label.likely_errors",
            severity="warning",
            title=plural(
                *Nn_("{n} row may have the wrong label", "{n} rows may have the wrong label"), n
            ),
            explanation=Message(
                N_(
                    "A model trained on the other rows confidently predicts a different "
                    "label for these rows. Check them, most doubtful first: some will be "
                    "labelling mistakes, some genuinely ambiguous examples."
                )
            ),
            row_ids=tuple(ids),  # ranked: most likely error first
            fix=Fix(
                "relabel",
                {"labels": {int(i): str(s) for i, s in zip(ids, suggested, strict=True)}},
                plural(
                    *Nn_(
                        "Change {n} label to the suggested one",
                        "Change {n} labels to the suggested ones",
                    ),
                    n,
                ),
            ),
            preview=preview_rows(
                frame,
                where,
                limit=PREVIEW_ERRORS,
                suggested=suggested,
                confidence=np.round(confidence, 3),
                given_confidence=np.round(scores.self_confidence[ranked], 3),
            ),
            stats={
                "rows_checked": len(positions),
                "folds": min(MAX_FOLDS, int(counts[counts >= 2].min())),
                "classes": len(scores.classes),
            },
            row_details=details,
        )
    ]
