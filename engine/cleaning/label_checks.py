"""Checks on the labels of any dataset, image or text: missing labels, spellings of
one class, imbalance and classes too small to learn.

Labels are few even when rows are many, so the work is one ``factorize`` over the
rows and then plain Python over the distinct labels. Imbalance and "too few" are
judged *after* merging the suggested spelling variants, so a stray "pos." does not
count as a class of its own in three findings at once.
"""

from __future__ import annotations

import bisect
import re
import unicodedata

import numpy as np
import pandas as pd

from engine.cleaning.common import begin, label_codes, plural, preview_rows, row_ids_at
from engine.cleaning.findings import Finding, Fix, Message
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset

__all__ = ["LABEL_CHECKS", "label_key", "label_variants"]

IMBALANCE_RATIO = 10  # largest / smallest class above this is worth a warning
MIN_EXAMPLES = 10  # classes with fewer rows than this are "too few"
MIN_ABBREVIATION = 2  # shortest key that may stand for a longer label ("pos" -> "positive")
_NOT_WORD = re.compile(r"[\W_]+")


def label_key(label: str) -> str:
    """What two spellings of one class share: NFKC, case-folded, without spaces,
    punctuation or underscores ("Positive ", "POSITIVE", "positive." -> "positive")."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", label).casefold())


def label_variants(counts: dict[str, int]) -> dict[str, str]:
    """Suggested merges {spelling: canonical} for labels that are probably one class.

    Spellings with the same ``label_key`` merge into the most frequent one. A key that
    is a prefix of exactly one other key, and of no other, is taken as its
    abbreviation ("pos" -> "positive") when that label is at least twice as common;
    two real classes such as "art" and "artist" are usually closer in size than that.
    """
    clusters: dict[str, list[str]] = {}
    for label in sorted(counts, key=lambda lab: (-counts[lab], lab)):
        key = label_key(label)
        if key:
            clusters.setdefault(key, []).append(label)
    sizes = {key: sum(counts[lab] for lab in labels) for key, labels in clusters.items()}
    keys = sorted(clusters)
    for short in keys:
        if len(short) < MIN_ABBREVIATION:
            continue
        # keys starting with ``short`` are one run of the sorted list, right after it
        start = bisect.bisect_right(keys, short)
        end = bisect.bisect_left(keys, short + "\U0010ffff", lo=start)
        if end - start == 1 and sizes[short] * 2 <= sizes[keys[start]] and keys[start] in clusters:
            clusters[keys[start]].extend(clusters.pop(short))
    mapping: dict[str, str] = {}
    for labels in clusters.values():
        canonical = max(labels, key=lambda lab: (counts[lab], -len(lab)))
        mapping.update({lab: canonical for lab in labels if lab != canonical})
    return mapping


def _label_counts(dataset: Dataset) -> tuple[np.ndarray, list[str], np.ndarray, dict[str, int]]:
    codes, names, missing = label_codes(dataset.frame)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    return codes, names, missing, {name: int(n) for name, n in zip(names, counts, strict=True)}


def _merged_counts(counts: dict[str, int]) -> dict[str, int]:
    mapping = label_variants(counts)
    merged: dict[str, int] = {}
    for label, n in counts.items():
        target = mapping.get(label, label)
        merged[target] = merged.get(target, 0) + n
    return dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


def check_missing_labels(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for rows without a label…"))
    _, _, missing, _ = _label_counts(dataset)
    positions = np.flatnonzero(missing)
    if len(positions) == 0:
        return []
    n = len(positions)
    ids = row_ids_at(dataset.frame, positions)
    return [
        Finding(
            kind="label.missing",
            severity="error",
            title=plural(*Nn_("{n} row has no label", "{n} rows have no label"), n),
            explanation=Message(
                N_(
                    "A model can only learn from labelled examples. Label these rows, "
                    "or remove them."
                )
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(
                    *Nn_("Remove {n} row without a label", "Remove {n} rows without a label"), n
                ),
            ),
            preview=preview_rows(dataset.frame, positions),
            stats={"rows": n},
        )
    ]


def check_label_variants(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for different spellings of one label…"))
    codes, names, _, counts = _label_counts(dataset)
    mapping = label_variants(counts)
    if not mapping:
        return []
    code_of = {name: code for code, name in enumerate(names)}
    changed = np.isin(codes, [code_of[label] for label in mapping])
    positions = np.flatnonzero(changed)
    ids = row_ids_at(dataset.frame, positions)
    merges = len(mapping)
    preview = tuple(
        {"label": label, "rows": counts[label], "merge_into": target, "target_rows": counts[target]}
        for label, target in mapping.items()
    )
    return [
        Finding(
            kind="label.variants",
            severity="warning",
            title=plural(
                *Nn_(
                    "{n} label looks like another spelling of a label",
                    "{n} labels look like other spellings of labels",
                ),
                merges,
            ),
            explanation=Message(
                N_(
                    "Labels that differ only in case, spaces, punctuation or by being "
                    "abbreviated are probably the same class, split in two. Each is "
                    "merged into its most frequent spelling: {merges}."
                ),
                {"merges": "; ".join(f"{a} → {b}" for a, b in list(mapping.items())[:8])},
            ),
            row_ids=ids,
            fix=Fix(
                "merge_labels",
                {"mapping": mapping},
                plural(
                    *Nn_(
                        "Merge {n} label into its usual spelling",
                        "Merge {n} labels into their usual spellings",
                    ),
                    merges,
                ),
            ),
            preview=preview,
            stats={"mapping": mapping, "rows": len(ids)},
        )
    ]


def check_imbalance(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Comparing class sizes…"))
    merged = _merged_counts(_label_counts(dataset)[3])
    if len(merged) < 2:
        return []
    (largest, most), (smallest, fewest) = next(iter(merged.items())), list(merged.items())[-1]
    ratio = most / fewest
    if ratio <= IMBALANCE_RATIO:
        return []
    return [
        Finding(
            kind="label.imbalance",
            severity="warning",
            title=Message(
                N_("The largest class has {ratio} times as many rows as the smallest"),
                {"ratio": int(round(ratio))},
            ),
            explanation=Message(
                N_(
                    '"{largest}" has {most} rows and "{smallest}" has {fewest}. A '
                    "model trained on such data tends to favour the large classes; "
                    "judge it by per-class results, and add examples to the small "
                    "classes if you can."
                ),
                {"largest": largest, "most": most, "smallest": smallest, "fewest": fewest},
            ),
            stats={"counts": merged, "ratio": ratio},
        )
    ]


def check_too_few(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for classes with too few examples…"))
    codes, names, _, counts = _label_counts(dataset)
    mapping = label_variants(counts)
    merged = _merged_counts(counts)
    small = {label: n for label, n in merged.items() if n < MIN_EXAMPLES}
    if not small:
        return []
    members = [code for code, label in enumerate(names) if mapping.get(label, label) in small]
    positions = np.flatnonzero(np.isin(codes, members))
    ids = row_ids_at(dataset.frame, positions)
    listed = [[label, n] for label, n in sorted(small.items(), key=lambda i: i[1])]
    # Removing the small classes only helps when at least two classes would remain.
    removable = len(merged) - len(small) >= 2
    fix = (
        Fix(
            "drop_rows",
            {"row_ids": list(ids)},
            plural(
                *Nn_("Remove the {n} row of these classes", "Remove the {n} rows of these classes"),
                len(ids),
            ),
        )
        if removable
        else None
    )
    return [
        Finding(
            kind="label.too_few",
            severity="warning",
            title=plural(
                *Nn_(
                    "{n} class has fewer than {minimum} examples",
                    "{n} classes have fewer than {minimum} examples",
                ),
                len(small),
                minimum=MIN_EXAMPLES,
            ),
            explanation=Message(
                N_(
                    "A class needs enough examples to be learned and to be tested "
                    "fairly. Add examples, merge it into a related class, or remove "
                    "it: {classes}."
                ),
                {"classes": listed},
            ),
            row_ids=ids,
            fix=fix,
            preview=tuple({"label": label, "rows": n} for label, n in small.items()),
            stats={"counts": small, "minimum": MIN_EXAMPLES},
        )
    ]


#: Finding kind -> check, for image and text datasets alike.
LABEL_CHECKS = {
    "label.missing": check_missing_labels,
    "label.variants": check_label_variants,
    "label.imbalance": check_imbalance,
    "label.too_few": check_too_few,
}


def class_counts_after_merge(dataset: Dataset) -> pd.Series:
    """Rows per class once the suggested spelling variants are merged."""
    return pd.Series(_merged_counts(_label_counts(dataset)[3]), dtype="int64")
