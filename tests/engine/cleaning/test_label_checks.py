"""Label checks, likely label errors, and the whole inspection job."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cleaning import label_checks, label_errors
from engine.cleaning.run import IMAGE_CHECKS, LABEL_ERRORS, applicable_checks, inspect_dataset
from engine.core.jobs import Cancelled, CancelToken
from engine.data.datasets import Dataset, DatasetSource, make_frame
from tests.helpers.texts import clean_rows, dataset, planted


def image_dataset(labels) -> Dataset:
    items = [f"/photos/{i}.jpg" for i in range(len(labels))]
    return Dataset("image", make_frame(items, labels), DatasetSource("folder", "/photos"))


def run_label_checks(data: Dataset) -> dict:
    found = {}
    for kind, check in label_checks.LABEL_CHECKS.items():
        results = check(data)
        assert len(results) <= 1 and all(f.kind == kind for f in results)
        if results:
            found[kind] = results[0]
    return found


def test_clean_labels_raise_nothing_for_text_and_images():
    texts, labels = clean_rows()
    assert run_label_checks(dataset(texts, labels)) == {}
    assert run_label_checks(image_dataset(labels)) == {}


def test_missing_labels_include_blank_ones():
    labels = ["cat"] * 20 + ["dog"] * 20 + [None, "", "  "]
    finding = run_label_checks(image_dataset(labels))["label.missing"]
    assert finding.severity == "error"
    assert finding.row_ids == (40, 41, 42)
    assert finding.fix.params == {"row_ids": [40, 41, 42]}


def test_label_variants_merge_into_the_usual_spelling():
    labels = (
        ["positive"] * 30
        + ["Positive "] * 3
        + ["POSITIVE"] * 2
        + ["pos."] * 2
        + ["negative"] * 30
        + ["neg"] * 2
        + ["neutral"] * 25
    )
    finding = run_label_checks(image_dataset(labels))["label.variants"]
    mapping = finding.fix.params["mapping"]
    assert mapping == {
        "Positive ": "positive",
        "POSITIVE": "positive",
        "pos.": "positive",
        "neg": "negative",
    }
    assert finding.fix.kind == "merge_labels" and finding.severity == "warning"
    assert len(finding.row_ids) == 9
    assert "Positive  → positive" in finding.explanation.text()


def test_ambiguous_or_comparable_abbreviations_are_left_alone():
    # "ne" could be negative or neutral; "art" and "artist" are real classes of similar size
    counts = {"negative": 30, "neutral": 30, "ne": 2, "art": 20, "artist": 25}
    assert label_checks.label_variants(counts) == {}
    assert label_checks.label_key("  Sci-Fi_Movies! ") == "scifimovies"


def test_imbalance_and_too_few_count_merged_spellings():
    labels = ["big"] * 200 + ["small"] * 12 + ["tiny"] * 4 + ["Tiny"] * 1
    found = run_label_checks(image_dataset(labels))
    imbalance = found["label.imbalance"]
    assert imbalance.stats["counts"] == {"big": 200, "small": 12, "tiny": 5}
    assert imbalance.stats["ratio"] == 40
    assert "40 times" in imbalance.title.text()
    too_few = found["label.too_few"]
    assert too_few.stats["counts"] == {"tiny": 5}
    assert too_few.row_ids == tuple(range(212, 217))
    assert "tiny (5)" in too_few.explanation.text()


def test_balanced_enough_data_is_not_imbalanced():
    labels = ["a"] * 100 + ["b"] * 10
    assert label_checks.check_imbalance(image_dataset(labels)) == []


# ---------------------------------------------------------------- likely label errors


def _flipped(seed: int = 3, flips: int = 4):
    """Clean data with ``flips`` labels moved to the next class. The model is seeded, so
    the result is deterministic; on ~300 rows cleanlab's pruning can drop a flip for
    some draws (its per-class thresholds are strict on small data), never rank a
    clean row above one it keeps."""
    texts, labels = clean_rows()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(labels), flips, replace=False)
    classes = sorted(set(labels))
    for row in rows:
        labels[row] = classes[(classes.index(labels[row]) + 1) % len(classes)]
    return texts, labels, sorted(rows.tolist())


def test_flipped_text_labels_are_ranked_first():
    texts, labels, flipped = _flipped()
    original = clean_rows()[1]
    (finding,) = label_errors.find_label_errors(dataset(texts, labels))
    assert finding.kind == "label.likely_errors" and finding.severity == "warning"
    top = list(finding.row_ids[: len(flipped)])
    assert sorted(top) == flipped
    assert finding.fix.kind == "relabel"
    assert all(finding.fix.params["labels"][row] == original[row] for row in flipped)
    first = finding.preview[0]
    assert first["row_id"] in flipped and first["suggested"] == original[first["row_id"]]
    assert 0 <= first["given_confidence"] < first["confidence"] <= 1


def test_image_features_plug_in():
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 7])
    features, target = digits.data[keep][:240], digits.target[keep][:240]
    labels = [str(t) for t in target]
    flipped = [5, 50, 100]
    for row in flipped:
        labels[row] = "1" if labels[row] != "1" else "7"
    data = image_dataset(labels)
    assert label_errors.find_label_errors(data) == []  # images need features
    (finding,) = label_errors.find_label_errors(data, features=features)
    # 3 flips in 240 rows of 3 classes: the stricter filter (given label below chance,
    # cleanlab in either round) reports two of them and nothing else.
    assert len(set(flipped) & set(finding.row_ids)) >= 2
    assert set(finding.row_ids) <= set(flipped)


def test_scaling_the_checks_own_copy_in_place_changes_no_probability_and_no_input():
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 7])
    features = digits.data[keep][:240].astype(np.float32)
    labels = [str(t) for t in digits.target[keep][:240]]
    for row in (5, 50, 100):
        labels[row] = "1" if labels[row] != "1" else "7"
    given = features.copy()
    copied = label_errors.label_error_scores(features, labels)
    scratch = features.copy()
    in_place = label_errors.label_error_scores(scratch, labels, scale_in_place=True)
    assert np.array_equal(copied.pred_probs, in_place.pred_probs)
    assert np.array_equal(copied.issues, in_place.issues) and len(copied.issues) >= 2
    assert np.array_equal(features, given)  # the caller's features are never scaled
    assert not np.array_equal(scratch, given)  # the scratch copy was
    label_errors.find_label_errors(image_dataset(labels), features=features)
    assert np.array_equal(features, given)


def test_label_errors_need_two_classes_with_two_rows():
    texts, _ = clean_rows()
    assert label_errors.find_label_errors(dataset(texts[:5], ["a"] * 4 + ["b"])) == []
    assert label_errors.label_error_scores(texts[:3], ["a", "b", "b"]) is None


# ---------------------------------------------------------------- the whole job


def test_inspect_dataset_runs_every_check_sorted_with_progress():
    data, where = planted()
    reports: list[tuple[int, int | None]] = []
    findings = inspect_dataset(data, lambda done, total, message: reports.append((done, total)))
    found = {f.kind for f in findings}
    assert {
        "text.empty",
        "text.mojibake",
        "text.exact_duplicates",
        "text.conflicting_labels",
        "text.unexpected_language",
        "label.likely_errors",
        "text.language_mix",
    } <= found
    errors = next(f for f in findings if f.kind == "label.likely_errors")
    assert set(where["flipped"]) <= set(errors.row_ids[:8])
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    done = [d for d, _ in reports]
    assert done == sorted(done) and reports[-1][0] == reports[-1][1]


def test_inspect_dataset_selected_checks_and_images():
    data, _ = planted()
    findings = inspect_dataset(data, checks=["text.empty", "label.missing"])
    assert [f.kind for f in findings] == ["text.empty"]
    image = image_dataset(["cat"] * 30 + ["dog"] * 2)
    assert applicable_checks(image) == [
        *(kind for kind, _ in IMAGE_CHECKS),
        *label_checks.LABEL_CHECKS,
        LABEL_ERRORS,
    ]
    assert {f.kind for f in inspect_dataset(image, checks=label_checks.LABEL_CHECKS)} == {
        "label.imbalance",
        "label.too_few",
    }


def test_image_checks_hook(monkeypatch):
    from engine.cleaning.findings import Finding, Message

    def check_blurry(data, progress, cancel):
        return [Finding("image.blurry", "info", Message("blurry"), Message("blurry"))]

    monkeypatch.setattr("engine.cleaning.run.IMAGE_CHECKS", [("image.blurry", check_blurry)])
    kinds = [f.kind for f in inspect_dataset(image_dataset(["cat"] * 20 + ["dog"] * 20))]
    assert kinds == ["image.blurry"]


def test_inspect_dataset_cancels():
    token = CancelToken()
    data, _ = planted()

    def progress(done, total, message):
        if done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        inspect_dataset(data, progress, token)


def test_label_errors_skip_rows_whose_features_are_missing():
    import numpy as np
    import pandas as pd

    from engine.cleaning.label_errors import find_label_errors
    from engine.data.datasets import Dataset, DatasetSource, make_frame

    rng = np.random.default_rng(0)
    labels = ["a"] * 20 + ["b"] * 20
    features = np.vstack([rng.normal(0, 1, (20, 8)), rng.normal(6, 1, (20, 8))]).astype(np.float32)
    features[3] = np.nan
    features[25, 0] = 6.0  # clean otherwise
    labels[30] = "a"  # a planted flip in class b's cluster
    frame = make_frame([f"/img/{i}.png" for i in range(40)], labels)
    dataset = Dataset("image", frame, DatasetSource("folder", "/img"))
    findings = find_label_errors(dataset, features)
    assert findings and findings[0].row_ids[0] == 30
    assert 3 not in findings[0].row_ids
    assert isinstance(frame, pd.DataFrame)


def test_too_few_offers_no_removal_that_would_leave_under_two_classes():
    from engine.cleaning.label_checks import check_too_few

    only_small = check_too_few(image_dataset(["cat"] * 5 + ["dog"] * 4))
    assert only_small and only_small[0].fix is None
    mixed = check_too_few(image_dataset(["cat"] * 20 + ["dog"] * 20 + ["fox"] * 3))
    assert mixed[0].fix is not None and len(mixed[0].fix.params["row_ids"]) == 3
