"""engine.data.splits: stratified, group-aware splits and leakage in imported splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.cleaning.findings import Finding, Message
from engine.cleaning.split_leakage import check_split_leakage, groups_from_findings
from engine.core.jobs import UserError
from engine.data.datasets import SPLIT, SPLITS, Dataset, DatasetSource, make_frame
from engine.data.splits import split_counts, split_dataset


def dataset(labels, splits=None) -> Dataset:
    items = [f"/data/{i}.jpg" for i in range(len(labels))]
    return Dataset(
        "image", make_frame(items, labels, splits=splits), DatasetSource("folder", "/data")
    )


def duplicate_finding(groups, kind="image.near_duplicates") -> Finding:
    rows = tuple(sorted(r for g in groups for r in g))
    return Finding(
        kind,
        "warning",
        Message("t"),
        Message("e"),
        row_ids=rows,
        groups=tuple(tuple(g) for g in groups),
    )


SIZES = {"cat": 100, "dog": 37, "bird": 11, "fish": 5, "ant": 3, "bee": 2, "owl": 1}


@pytest.fixture
def unbalanced() -> Dataset:
    labels = [name for name, n in SIZES.items() for _ in range(n)]
    rng = np.random.default_rng(1)
    return dataset(list(rng.permutation(labels)))


@pytest.mark.parametrize(
    ("validation", "test"), [(0.15, 0.15), (0.2, 0.1), (0.1, 0.0), (0.33, 0.33)]
)
def test_each_class_gets_its_share_within_one_row(unbalanced, validation, test):
    split = split_dataset(unbalanced, validation=validation, test=test, seed=3)
    assert split.index.equals(unbalanced.frame.index)
    assert set(split) <= set(SPLITS)
    counts = split_counts(unbalanced.frame, split)
    for label, n in SIZES.items():
        if n < 3:
            assert counts.loc[label, "train"] == n  # too small to share
            continue
        for name, fraction in (("validation", validation), ("test", test)):
            assert abs(counts.loc[label, name] - n * fraction) <= 1, (label, name)
        assert abs(counts.loc[label, "train"] - n * (1 - validation - test)) <= 1


def test_every_class_with_three_rows_is_in_train_even_with_large_shares(unbalanced):
    split = split_dataset(unbalanced, validation=0.45, test=0.45)
    counts = split_counts(unbalanced.frame, split)
    assert (counts["train"] >= 1).all()


def test_same_seed_same_split_other_seed_other_split(unbalanced):
    first = split_dataset(unbalanced, seed=7)
    assert first.equals(split_dataset(unbalanced, seed=7))
    assert not first.equals(split_dataset(unbalanced, seed=8))


def test_groups_never_straddle_and_stratification_holds(unbalanced):
    frame = unbalanced.frame
    groups = pd.Series(frame.index, index=frame.index)
    rng = np.random.default_rng(0)
    # Plant 30 groups of 2-4 same-label rows, like near-duplicate clusters.
    next_id = 10_000
    for label in ("cat", "dog"):
        rows = list(rng.permutation(frame.index[frame["label"] == label]))
        for g in range(12 if label == "cat" else 5):
            size = 2 + g % 3
            members, rows = rows[:size], rows[size:]
            groups[members] = next_id
            next_id += 1
    split = split_dataset(unbalanced, groups=groups, seed=0)
    per_group = pd.DataFrame({"g": groups, "s": split}).groupby("g")["s"].nunique()
    assert (per_group == 1).all()
    counts = split_counts(frame, split)
    assert abs(counts.loc["cat", "validation"] - 15) <= 2
    assert abs(counts.loc["dog", "test"] - 37 * 0.15) <= 2
    assert (counts["train"] >= 1).all()


def test_a_class_that_is_one_group_still_reaches_train():
    labels = ["a"] * 20 + ["b"] * 4
    data = dataset(labels)
    groups = pd.Series(range(24), index=data.frame.index)
    groups[20:24] = 99  # every "b" is a copy of the same picture
    for seed in range(5):
        split = split_dataset(data, groups=groups, seed=seed)
        assert set(split[20:24]) == {"train"}


def test_missing_labels_are_spread_too():
    data = dataset(["a"] * 10 + [None] * 10)
    split = split_dataset(data, validation=0.2, test=0.2)
    assert split[10:].value_counts()["validation"] == 2


def test_bad_fractions_are_a_user_error(unbalanced):
    with pytest.raises(UserError) as caught:
        split_dataset(unbalanced, validation=0.6, test=0.5)
    assert "60" in caught.value.message


def test_empty_dataset_gives_an_empty_split():
    assert split_dataset(dataset([])).empty


def test_groups_from_findings_joins_overlapping_duplicate_groups():
    data = dataset(["a"] * 8)
    findings = [
        duplicate_finding([(1, 2), (5, 6)], "image.exact_duplicates"),
        duplicate_finding([(2, 3)], "image.near_duplicates"),
        duplicate_finding([(0, 7)], "label.conflicts"),  # not a duplicate kind: ignored
        duplicate_finding([(6, 99)]),  # unknown row id: ignored
    ]
    groups = groups_from_findings(findings, data.frame)
    assert groups.tolist() == [0, 1, 1, 1, 4, 5, 5, 7]
    assert groups.index.equals(data.frame.index)


def test_leakage_in_an_imported_split_is_reported_with_a_fix():
    splits = ["train", "train", "test", "validation", "test", "train", "validation", "test"]
    data = dataset(["a", "a", "a", "b", "b", "b", "b", "a"], splits)
    findings = [duplicate_finding([(0, 2), (3, 4), (5, 1)])]  # (5, 1) both train: fine
    groups = groups_from_findings(findings, data.frame)
    (leak,) = check_split_leakage(data, groups)
    assert leak.kind == "split.leakage" and leak.severity == "error"
    assert sorted(map(sorted, leak.groups)) == [[0, 2], [3, 4]]
    assert leak.fix.kind == "drop_rows"
    assert leak.fix.params["row_ids"] == [2, 4]  # train kept; validation kept over test
    assert "2 groups" in leak.title.text()
    assert "2 copies" in leak.fix.description.text()
    assert leak.stats["crossings"] == {"train+test": 1, "validation+test": 1}


def test_no_leakage_without_an_imported_split_or_without_crossings():
    data = dataset(["a", "a", "b"])
    groups = pd.Series([0, 0, 2])
    assert check_split_leakage(data, groups) == []
    data = dataset(["a", "a", "b"], ["train", "train", "test"])
    assert check_split_leakage(data, groups) == []


def test_splitting_a_leaky_dataset_by_its_groups_removes_the_leak():
    labels = ["a", "b"] * 30
    data = dataset(labels, ["train", "test"] * 30)
    groups = pd.Series([i // 2 for i in range(60)])  # each a/b pair: "copies" across splits
    assert check_split_leakage(data, groups)
    frame = data.frame.copy()
    frame[SPLIT] = split_dataset(data, groups=groups)
    assert check_split_leakage(data.with_frame(frame), groups) == []


def test_applying_the_leakage_fix_leaves_no_leak():
    from engine.cleaning.plan import CleaningPlan

    splits = ["train", "test", "validation", "test", "train", "validation"]
    data = dataset(["a", "a", "b", "b", "a", "b"], splits)
    duplicates = [duplicate_finding([(0, 1, 4), (2, 3)])]
    (leak,) = check_split_leakage(data, groups_from_findings(duplicates, data.frame))
    plan = CleaningPlan()
    plan.add_finding(leak)
    cleaned = plan.apply(data)
    assert cleaned.frame["row_id"].tolist() == [0, 2, 4, 5]
    # Groups are recomputed for the cleaned frame (its index is fresh; row ids are not).
    assert check_split_leakage(cleaned, groups_from_findings(duplicates, cleaned.frame)) == []
