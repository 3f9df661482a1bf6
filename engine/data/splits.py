"""Train/validation/test splits that keep duplicates together and classes in proportion.

A model scored on copies of its training images looks better than it is. So a
split is made over *groups* (rows that are the same or nearly the same picture
or text, as the duplicate checks found them), never over single rows, and an
imported split is checked for groups that straddle it.

The splitter is a small greedy assignment rather than scikit-learn's
``StratifiedGroupKFold``: it hits arbitrary fractions (not just 1/k), keeps
every class within one row of its target when there are no groups, and can
guarantee that each class with at least three rows is seen in training.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from engine.core import i18n
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.data.datasets import (
    LABEL,
    SPLIT,
    SPLITS,
    TEST,
    TRAIN,
    VALIDATION,
    Dataset,
)

#: Classes smaller than this may go entirely to training (too few rows to share).
MIN_ROWS_TO_SHARE = 3

MSG_BAD_FRACTIONS = N_(
    "The validation and test shares must each be between {zero} and {hundred} and add up to "
    "less than {hundred} (they are {validation} and {test})."
)
_MISSING_LABEL = "\0missing"  # a stratum of its own, so unlabelled rows are spread too


def split_dataset(
    dataset: Dataset,
    *,
    validation: float = 0.15,
    test: float = 0.15,
    groups: pd.Series | None = None,
    seed: int = 0,
) -> pd.Series:
    """Assign each row to "train", "validation" or "test"; a Series indexed like the frame.

    ``groups`` (indexed like the frame; equal values = one group, missing =
    a group of its own) are never split up. Classes are stratified: without
    groups each class gets its share within one row. Every class with at
    least ``MIN_ROWS_TO_SHARE`` rows keeps at least one row in training.
    The same data, groups and seed always give the same split.
    """
    _check_fractions(validation, test)
    frame = dataset.frame
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="string", name=SPLIT)
    labels = frame[LABEL].astype("object").where(frame[LABEL].notna(), _MISSING_LABEL)
    label_codes, label_names = pd.factorize(labels, sort=True)
    class_sizes = np.bincount(label_codes, minlength=len(label_names))
    fractions = np.array([1.0 - validation - test, validation, test])
    targets = np.stack([_apportion(int(size), fractions) for size in class_sizes], axis=1)
    group_codes = _group_codes(frame.index, groups)
    rng = np.random.default_rng(seed)

    counts = np.zeros_like(targets)
    assignment = np.zeros(len(frame), dtype=np.int64)
    multi = np.bincount(group_codes)[group_codes] > 1
    _place_groups(group_codes, label_codes, multi, targets, counts, assignment, rng)
    _place_singletons(label_codes, ~multi, targets, counts, assignment, rng)
    _ensure_train_rows(group_codes, label_codes, class_sizes, assignment, counts)
    names = np.array(SPLITS, dtype=object)[assignment]
    return pd.Series(names, index=frame.index, dtype="string", name=SPLIT)


def _check_fractions(validation: float, test: float) -> None:
    """Refuse shares the user could have typed that leave no room for training."""
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise UserError(
            MSG_BAD_FRACTIONS,
            zero=i18n.format_percent(0),
            hundred=i18n.format_percent(1),
            validation=i18n.format_percent(validation, 1),
            test=i18n.format_percent(test, 1),
        )


def _apportion(size: int, fractions: np.ndarray) -> np.ndarray:
    """Whole rows per split for one class: largest remainders, training first on ties.

    A class of at least ``MIN_ROWS_TO_SHARE`` rows always keeps one row for
    training; smaller ones go to training whole, as a split of two rows says
    nothing and the model must at least see the class.
    """
    if size < MIN_ROWS_TO_SHARE:
        return np.array([size, 0, 0], dtype=np.int64)
    exact = fractions * size
    whole = np.floor(exact).astype(np.int64)
    remainders = exact - whole
    for index in sorted(range(len(whole)), key=lambda i: (-remainders[i], i))[: size - whole.sum()]:
        whole[index] += 1
    while whole[0] < 1:  # take from the larger of validation and test
        donor = 1 if whole[1] >= whole[2] else 2
        whole[donor] -= 1
        whole[0] += 1
    return whole


def _group_codes(index: pd.Index, groups: pd.Series | None) -> np.ndarray:
    """A group number per row position; rows without a group id get one of their own."""
    if groups is None:
        return np.arange(len(index))
    codes, _uniques = pd.factorize(groups.reindex(index))
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _place_groups(
    group_codes: np.ndarray,
    label_codes: np.ndarray,
    multi: np.ndarray,
    targets: np.ndarray,
    counts: np.ndarray,
    assignment: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Greedy placement of multi-row groups, largest first (they are the hardest to fit).

    Each goes where it least increases the squared distance of the counts from
    their targets; ties go to train, then validation. Plain Python over small
    per-group tallies: fast for the tens of thousands of groups a big dataset has.
    """
    if not multi.any():
        return
    tally = (
        pd.DataFrame({"g": group_codes[multi], "l": label_codes[multi]}).value_counts().sort_index()
    )
    per_group: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (group, label), count in tally.items():
        per_group[int(group)].append((int(label), int(count)))
    ids = list(per_group)
    order = [ids[i] for i in rng.permutation(len(ids))]
    order.sort(key=lambda g: -sum(count for _label, count in per_group[g]))
    gap = (counts - targets).tolist()  # gap[split][label], kept in step with counts
    chosen: dict[int, int] = {}
    for group in order:
        parts = per_group[group]
        costs = [sum(n * (2 * gap[s][label] + n) for label, n in parts) for s in range(len(SPLITS))]
        choice = costs.index(min(costs))
        for label, n in parts:
            gap[choice][label] += n
            counts[choice, label] += n
        chosen[group] = choice
    rows = np.flatnonzero(multi)
    assignment[rows] = [chosen[int(g)] for g in group_codes[rows]]


def _place_singletons(
    label_codes: np.ndarray,
    single: np.ndarray,
    targets: np.ndarray,
    counts: np.ndarray,
    assignment: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Fill what each class still needs with its ungrouped rows, in a seeded random order.

    Rows go one at a time to the split that needs them most, so without
    groups every class lands exactly on its apportioned targets.
    """
    rows = np.flatnonzero(single)
    rows = rows[rng.permutation(len(rows))]
    rows = rows[np.argsort(label_codes[rows], kind="stable")]
    starts = np.searchsorted(label_codes[rows], np.arange(targets.shape[1] + 1))
    for label in range(targets.shape[1]):
        members = rows[starts[label] : starts[label + 1]]
        need = (targets[:, label] - counts[:, label]).tolist()
        take = [0] * len(SPLITS)
        for _row in members:
            split = need.index(max(need))
            need[split] -= 1
            take[split] += 1
        assignment[members] = np.repeat(np.arange(len(SPLITS)), take)
        counts[:, label] += take


def _ensure_train_rows(
    group_codes: np.ndarray,
    label_codes: np.ndarray,
    class_sizes: np.ndarray,
    assignment: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Move the smallest group holding a class into training when placement left none there.

    Whole groups move, so no group is ever split to satisfy this.
    """
    for label in np.flatnonzero((class_sizes >= MIN_ROWS_TO_SHARE) & (counts[0] == 0)):
        if counts[0, label] > 0:  # an earlier move may already have brought one
            continue
        candidates = np.unique(group_codes[label_codes == label])
        sizes = np.bincount(group_codes)[candidates]
        group = candidates[int(np.argmin(sizes))]
        rows = np.flatnonzero(group_codes == group)
        np.subtract.at(counts, (assignment[rows], label_codes[rows]), 1)
        np.add.at(counts, (np.zeros(len(rows), dtype=np.int64), label_codes[rows]), 1)
        assignment[rows] = 0


def split_counts(frame: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """Rows per label (rows) and split (columns), for reports and tests."""
    table = pd.crosstab(frame[LABEL].astype("object"), split.astype("object"))
    return table.reindex(columns=[TRAIN, VALIDATION, TEST], fill_value=0)
