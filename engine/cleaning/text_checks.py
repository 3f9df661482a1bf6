"""Checks on the texts of a text dataset: empties, broken Unicode, duplicates,
contradictory labels, odd lengths (and, from ``languages``, languages).

Every check is ``check_x(dataset, progress, cancel) -> list[Finding]`` and returns
``[]`` on clean data. They share one ``TextFacts`` per frame (``text_facts``), so
the expensive passes over a million texts happen once, whichever checks run. The
broken-Unicode checks live in ``text_unicode_checks``; ``TEXT_CHECKS`` lists them too.
"""

from __future__ import annotations

import numpy as np

from engine.cleaning.common import (
    begin,
    conflict_finding,
    dense_groups,
    distinct_per_group,
    duplicate_finding,
    plural,
    preview_rows,
    row_ids_at,
)
from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.languages import (
    check_language_mix,
    check_unexpected_language,
    detect_languages,
)
from engine.cleaning.text_facts import TextFacts, text_facts
from engine.cleaning.text_unicode_checks import (
    check_invisible_chars,
    check_mojibake,
    check_unnormalized,
)
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset

__all__ = ["TEXT_CHECKS", "TextFacts", "detect_languages", "text_facts"]

SHORT_CHARS = 3  # texts shorter than this (after tidying) are "very short"
LONG_CHARS = 2000  # and longer than this *and* far above the rest are "very long"
LONG_IQR_FACTOR = 3.0


# ------------------------------------------------------------------ single-row problems


def check_empty(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for empty texts…"))
    positions = np.flatnonzero(text_facts(dataset).blank)
    if len(positions) == 0:
        return []
    n = len(positions)
    ids = row_ids_at(dataset.frame, positions)
    return [
        Finding(
            kind="text.empty",
            severity="error",
            title=plural(*Nn_("{n} row has no text", "{n} rows have no text"), n),
            explanation=Message(
                N_(
                    "These rows are empty or hold only spaces or invisible "
                    "characters. A model cannot learn anything from them."
                )
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(*Nn_("Remove {n} row without text", "Remove {n} rows without text"), n),
            ),
            preview=preview_rows(dataset.frame, positions),
            stats={"rows": n},
        )
    ]


def check_length_outliers(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """Very short texts rarely say enough; very long ones get cut off by text models.
    "Very long" must be far above this data's own spread (Q3 + 3 IQR) *and* over
    LONG_CHARS, so a corpus of long documents is not flagged wholesale."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Checking text lengths…"))
    facts = text_facts(dataset)
    lengths, present = facts.lengths, ~facts.blank
    if not present.any():
        return []
    q1, q3 = np.percentile(lengths[present], [25, 75])
    limit = int(max(q3 + LONG_IQR_FACTOR * (q3 - q1), LONG_CHARS))
    short = present & (lengths < SHORT_CHARS)
    long = present & (lengths > limit)
    positions = np.flatnonzero(short | long)
    if len(positions) == 0:
        return []
    n, n_short, n_long = len(positions), int(short.sum()), int(long.sum())
    ids = row_ids_at(dataset.frame, positions)
    shown = np.concatenate([np.flatnonzero(short)[:3], np.flatnonzero(long)[:2]])
    return [
        Finding(
            kind="text.length_outliers",
            severity="warning" if n_short else "info",
            title=plural(
                *Nn_("{n} text has an unusual length", "{n} texts have an unusual length"), n
            ),
            explanation=Message(
                N_(
                    "Very short texts (under {short_limit} characters): {short}. Very "
                    "long texts (over {long_limit} characters): {long}. Very short "
                    "texts rarely say enough to be classified; very long ones are "
                    "cut off by most text models."
                ),
                {"short": n_short, "long": n_long, "short_limit": SHORT_CHARS, "long_limit": limit},
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(
                    *Nn_("Remove {n} row of unusual length", "Remove {n} rows of unusual length"), n
                ),
            ),
            preview=preview_rows(dataset.frame, shown, characters=lengths[shown]),
            stats={
                "short": n_short,
                "long": n_long,
                "long_limit": limit,
                "q1": float(q1),
                "q3": float(q3),
                "median": float(np.median(lengths[present])),
            },
        )
    ]


# ------------------------------------------------------------------ duplicates and conflicts


_KEEP_FIRST_ROW = Nn_(
    "Keep the first row of each group and remove {n} repeat",
    "Keep the first row of each group and remove {n} repeats",
)


def check_exact_duplicates(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for repeated rows…"))
    facts = text_facts(dataset)
    usable = np.flatnonzero(facts.spellings >= 0)
    combined = facts.spellings * (len(facts.label_names) + 1) + (facts.labels + 1)
    group, sizes = dense_groups(combined[usable])
    positions = usable[sizes[group] > 1]
    return duplicate_finding(
        dataset,
        combined,
        positions,
        "text.exact_duplicates",
        Nn_("{n} row repeats an earlier row exactly", "{n} rows repeat earlier rows exactly"),
        Nn_(
            "Identical text with the same label appears more than once (one group of "
            "{rows} rows). Repeats give those examples extra weight and can land in both the "
            "training and the test split, which makes results look better than they are.",
            "Identical text with the same label appears more than once ({groups} groups, "
            "{rows} rows). Repeats give those examples extra weight and can land in both the "
            "training and the test split, which makes results look better than they are.",
        ),
        _KEEP_FIRST_ROW,
    )


def check_normalized_duplicates(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """Same label, same text once case, spacing, punctuation and invisible characters are
    ignored, but not all the same exact text (those are ``text.exact_duplicates``)."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for near-identical rows…"))
    facts = text_facts(dataset)
    usable = np.flatnonzero(facts.shared)
    combined = facts.keys * (len(facts.label_names) + 1) + (facts.labels + 1)
    group, sizes = dense_groups(combined[usable])
    spellings = distinct_per_group(group, facts.spellings[usable])  # -1 only in 1-row groups
    positions = usable[(sizes[group] > 1) & (spellings[group] > 1)]
    return duplicate_finding(
        dataset,
        combined,
        positions,
        "text.normalized_duplicates",
        Nn_(
            "{n} row repeats another row apart from case, spacing or punctuation",
            "{n} rows repeat other rows apart from case, spacing or punctuation",
        ),
        Nn_(
            "These texts differ only in upper and lower case, spaces, punctuation or invisible "
            "characters, and have the same label (one group of {rows} rows). A model sees "
            "them as the same example counted several times.",
            "These texts differ only in upper and lower case, spaces, punctuation or invisible "
            "characters, and have the same label ({groups} groups, {rows} rows). A model sees "
            "them as the same example counted several times.",
        ),
        _KEEP_FIRST_ROW,
    )


def check_conflicting_labels(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """The same text (by comparison key) under different labels (``conflict_finding`` says
    what the fix keeps)."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for texts with contradictory labels…"))
    facts = text_facts(dataset)
    labels = facts.merged_labels
    return conflict_finding(
        dataset,
        facts.keys,
        np.flatnonzero(facts.shared & (labels >= 0)),
        labels,
        kind="text.conflicting_labels",
        title=Nn_(
            "{n} text appears with different labels",
            "{n} texts appear with different labels",
        ),
        explanation=(
            N_(
                "The same text (ignoring case, spacing and punctuation) is labelled "
                "differently in {rows} rows. A model cannot be right about both, and such "
                "contradictions usually mean labelling mistakes. The suggested fix keeps the "
                "label most of a group's rows agree on and removes the others."
            ),
            Nn_(
                "The same text (ignoring case, spacing and punctuation) is labelled "
                "differently in {rows} rows. A model cannot be right about both, and such "
                "contradictions usually mean labelling mistakes. The suggested fix keeps the "
                "label most of a group's rows agree on and removes the others; in "
                "{no_majority} group no label has a majority, so it removes that whole group.",
                "The same text (ignoring case, spacing and punctuation) is labelled "
                "differently in {rows} rows. A model cannot be right about both, and such "
                "contradictions usually mean labelling mistakes. The suggested fix keeps the "
                "label most of a group's rows agree on and removes the others; in "
                "{no_majority} groups no label has a majority, so it removes those groups "
                "whole.",
            ),
        ),
    )


#: Finding kind -> check, in the order they run (cheap shared work first).
TEXT_CHECKS = {
    "text.empty": check_empty,
    "text.mojibake": check_mojibake,
    "text.invisible_chars": check_invisible_chars,
    "text.unnormalized": check_unnormalized,
    "text.length_outliers": check_length_outliers,
    "text.exact_duplicates": check_exact_duplicates,
    "text.normalized_duplicates": check_normalized_duplicates,
    "text.conflicting_labels": check_conflicting_labels,
    "text.language_mix": check_language_mix,
    "text.unexpected_language": check_unexpected_language,
}
