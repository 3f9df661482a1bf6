"""Likely label errors worth acting on: real digits through the built-in image model."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cleaning.run import LABEL_ERRORS, inspect_dataset
from engine.data.datasets import Dataset, DatasetSource, make_frame
from tests.helpers.digits import write_digits


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """All 1,797 scikit-learn digits as 64x64 PNGs: (paths, true labels)."""
    folder = write_digits(tmp_path_factory.mktemp("digits"), size=64)
    paths = sorted(folder.glob("*/*.png"))
    return [str(p) for p in paths], [p.parent.name for p in paths]


def _flip(labels: list[str], rate: float, seed: int = 0) -> tuple[list[str], set[int]]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(labels), round(rate * len(labels)), replace=False)
    flipped = list(labels)
    for row in rows:
        flipped[row] = str(rng.choice([c for c in "0123456789" if c != labels[row]]))
    return flipped, set(rows.tolist())


def _errors(paths, labels):
    data = Dataset("image", make_frame(paths, labels), DatasetSource("folder", "digits"))
    found = inspect_dataset(data, checks=[LABEL_ERRORS])
    return found[0] if found else None


@pytest.mark.slow
def test_planted_flips_are_found_with_few_false_alarms(digits):
    paths, truth = digits
    labels, planted = _flip(truth, 0.10)
    finding = _errors(paths, labels)
    flagged = set(finding.row_ids)  # row ids are positions here
    precision, recall = len(flagged & planted) / len(flagged), len(flagged & planted) / len(planted)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)  # was 0.59 / 0.91
    for row in flagged & planted:  # the suggestion is the digit's real label, and says how sure
        detail = finding.row_details[row]
        assert 0 < detail["confidence"] <= 1
    right = sum(
        finding.row_details[row]["suggested_label"] == truth[row] for row in flagged & planted
    )
    assert right >= 0.9 * len(flagged & planted)


@pytest.mark.slow
def test_clean_digits_raise_at_most_one_percent(digits):
    paths, truth = digits
    finding = _errors(paths, truth)
    assert finding is None or finding.count <= 0.01 * len(paths)  # was 23 rows (1.3%)
