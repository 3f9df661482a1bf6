"""Run every data check that applies to a dataset, as one job.

``inspect_dataset(dataset, progress, cancel)`` is what the CLI's ``inspect`` and
the GUI's data page call. Checks run one after another (text checks share one
cached analysis of the texts, so order barely matters); progress is the share of
checks done, with the model-training label-error check weighted as several, and
cancellation is honoured between checks and inside the long ones.

Image checks come from ``engine.cleaning.image_checks`` as ``(kind, check)`` pairs,
where ``check(dataset, progress, cancel) -> list[Finding]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from engine.cleaning.findings import Finding, sort_findings
from engine.cleaning.image_checks import IMAGE_CHECK_LIST
from engine.cleaning.label_checks import LABEL_CHECKS
from engine.cleaning.label_errors import find_label_errors
from engine.cleaning.text_checks import TEXT_CHECKS
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import SPLIT, Dataset

__all__ = ["IMAGE_CHECKS", "LABEL_ERRORS", "Check", "applicable_checks", "inspect_dataset"]

Check = Callable[[Dataset, Progress, CancelToken], list[Finding]]

#: Checks for image datasets, ``(finding kind, check)``.
IMAGE_CHECKS: list[tuple[str, Check]] = list(IMAGE_CHECK_LIST)
LABEL_ERRORS = "label.likely_errors"
#: Relative cost of the label-error check in the progress bar (it trains K models).
_LABEL_ERROR_WEIGHT = 8


def applicable_checks(dataset: Dataset) -> list[str]:
    """The finding kinds ``inspect_dataset`` would run for this dataset, in order."""
    task_checks = list(TEXT_CHECKS) if dataset.task == "text" else [k for k, _ in IMAGE_CHECKS]
    return [*task_checks, *LABEL_CHECKS, LABEL_ERRORS]


def _check_functions(dataset: Dataset, features: np.ndarray | None) -> dict[str, Check]:
    functions: dict[str, Check] = (
        dict(TEXT_CHECKS) if dataset.task == "text" else dict(IMAGE_CHECKS)
    )
    functions.update(LABEL_CHECKS)
    functions[LABEL_ERRORS] = lambda data, progress, cancel: find_label_errors(
        data,
        _features_for(data, features, _part(progress, 0.0, 0.5), cancel),
        _part(progress, 0.5, 1.0),
        cancel,
    )
    return functions


def _part(progress: Progress, start: float, end: float) -> Progress:
    """``progress`` for one stage of a check: its steps fill ``start..end`` of the check's
    bar, and it never moves backwards (loading the text model, then reading the texts,
    each count from zero)."""
    reached = [start]

    def report(step: int, steps: int | None, message: str) -> None:
        share = min(step / steps, 1.0) if steps else 0.0
        reached[0] = max(reached[0], start + share * (end - start))
        progress(int(reached[0] * 1000), 1000, message)

    return report


def _features_for(
    dataset: Dataset, features: np.ndarray | None, progress: Progress, cancel: CancelToken
) -> np.ndarray | None:
    """The label-error model's inputs: the built-in image model's features for images,
    the multilingual-e5 vectors for text (both cached on disk). Text falls back to
    TF-IDF (``None``) when the text model cannot be loaded: its topics are learnt
    from far fewer examples, so precision suffers, but the check still runs."""
    if features is not None:
        return features
    from engine.data.datasets import ITEM

    if dataset.task == "image":
        from engine.models.image_features import image_features

        return image_features(dataset.frame[ITEM].astype(str).tolist(), progress, cancel)
    if dataset.task != "text":
        return None
    return _text_vectors(dataset.frame[ITEM].astype("string").fillna("").tolist(), progress, cancel)


def _text_vectors(texts: list[str], progress: Progress, cancel: CancelToken) -> np.ndarray | None:
    """e5 vectors, or ``None`` when the encoder is unavailable (not installed, damaged)."""
    import logging

    from engine.core.jobs import Cancelled, UserError

    try:
        from engine.models.text_features import text_features

        return text_features(texts, progress, cancel)
    except Cancelled:
        raise
    except (ImportError, OSError, RuntimeError, UserError) as error:
        logging.getLogger(__name__).warning("Text model unavailable, using TF-IDF: %s", error)
        return None


def inspect_dataset(
    dataset: Dataset,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    checks: Iterable[str] | None = None,
    features: np.ndarray | None = None,
) -> list[Finding]:
    """All findings for ``dataset``, errors first (``sort_findings``).

    ``checks`` limits the run to these finding kinds (default: all that apply).
    ``features`` (rows aligned with ``dataset.frame``) feed the label-error model;
    without them images use the built-in image model's features and text the
    multilingual-e5 vectors (TF-IDF when that model is unavailable).
    """
    cancel = cancel or CancelToken()
    functions = _check_functions(dataset, features)
    wanted = (
        list(functions) if checks is None else [kind for kind in functions if kind in set(checks)]
    )
    weights = [_LABEL_ERROR_WEIGHT if kind == LABEL_ERRORS else 1 for kind in wanted]
    total = sum(weights) * 100
    findings: list[Finding] = []
    done = 0
    for kind, weight in zip(wanted, weights, strict=True):
        cancel.raise_if_cancelled()

        def report(step: int, steps: int | None, message: str, _base=done, _weight=weight) -> None:
            share = min(step / steps, 1.0) if steps else 0.0
            progress(_base + int(share * _weight * 100), total, message)

        findings.extend(functions[kind](dataset, report, cancel))
        done += weight * 100
    if checks is None and SPLIT in dataset.frame.columns:
        # An imported split leaks when a duplicate group straddles it; groups come from above.
        from engine.cleaning.split_leakage import check_split_leakage, groups_from_findings

        findings.extend(check_split_leakage(dataset, groups_from_findings(findings, dataset.frame)))
    progress(total, total, "")
    return sort_findings(findings)
