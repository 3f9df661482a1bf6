"""engine.data.text_inputs: the one way the command line and the window gather texts.

A source that cannot be read is one error row, never the end of the batch; an
empty text or a missing table cell is an error, not a meaningless label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.core.i18n import _
from engine.data.text_inputs import MSG_EMPTY, MSG_NO_COLUMN, classify_texts, gather


class LengthClassifier:
    """Long texts are "long", short ones "short": instant and easy to check."""

    labels = ["long", "short"]

    def predict_texts(self, texts, progress, cancel):
        longer = np.array([len(text) > 20 for text in texts], dtype=np.float32)
        return np.stack([longer, 1.0 - longer], axis=1)


def test_a_table_without_the_column_is_one_error_row_and_the_rest_goes_on(tmp_path):
    table = tmp_path / "reviews.csv"
    pd.DataFrame({"body": ["fine", "a much longer review of the product"]}).to_csv(
        table, index=False
    )
    inputs = gather(["typed first"], [str(table)], column="text")
    assert [item.name for item in inputs] == [_("Text {n}").format(n=1), "reviews.csv"]
    assert inputs[1].error.msgid == MSG_NO_COLUMN and "body" in inputs[1].error.text()
    results = classify_texts(LengthClassifier(), inputs)
    assert results[0].error is None and results[0].predictions[0][0] == "short"
    assert results[1].error and not results[1].predictions


def test_empty_texts_and_missing_cells_are_errors_not_labels(tmp_path):
    table = tmp_path / "notes.parquet"
    pd.DataFrame({"text": ["a long enough sentence to be long", None, "   "]}).to_parquet(table)
    inputs = gather(["", "short"], [str(table)], column="text")
    results = classify_texts(LengthClassifier(), inputs)
    errors = [result.error and result.error.text() for result in results]
    assert errors == [_(MSG_EMPTY), None, None, _(MSG_EMPTY), _(MSG_EMPTY)]
    assert [r.predictions[0][0] for r in results if r.error is None] == ["short", "long"]
    assert results[2].input.startswith("notes.parquet")
