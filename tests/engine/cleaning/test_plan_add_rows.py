"""The ``add_rows`` plan step: new rows joined non-destructively, undoable, replayable."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cleaning.findings import Fix, Message
from engine.cleaning.plan import ADDED_ROW_BASE, CleaningPlan
from engine.data.dataset_io import save_dataset
from engine.data.datasets import Dataset, DatasetSource, make_frame


def images(tmp_path, with_split: bool = False) -> Dataset:
    items = [str(tmp_path / f"{i}.jpg") for i in range(4)]
    frame = make_frame(
        items,
        ["cat", "cat", "dog", "dog"],
        splits=["train", "train", "validation", "test"] if with_split else None,
    )
    return Dataset("image", frame, DatasetSource("folder", str(tmp_path)), name="pets")


def add(*rows: tuple[str, str]) -> Fix:
    return Fix(
        "add_rows",
        {"rows": [{"item": item, "label": label} for item, label in rows]},
        Message("add {n} rows", {"n": len(rows)}),
    )


def test_added_rows_join_the_dataset_and_the_original_is_untouched(tmp_path):
    data = images(tmp_path, with_split=True)
    before = data.frame.copy()
    plan = CleaningPlan()
    plan.add(add(("/new/bird.jpg", "bird"), ("/new/cat 猫.png", "cat")))
    frame = plan.apply(data).frame
    pd.testing.assert_frame_equal(data.frame, before)
    assert len(frame) == 6 and frame["row_id"].is_unique
    assert frame["item"].tolist()[-2:] == ["/new/bird.jpg", "/new/cat 猫.png"]
    assert frame["label"].tolist() == ["cat", "cat", "dog", "dog", "bird", "cat"]
    assert frame["row_id"].tolist()[-2:] == [ADDED_ROW_BASE, ADDED_ROW_BASE + 1]
    added = frame.iloc[-2:]
    assert added["source_line"].isna().all() and added["split"].isna().all()
    assert frame.dtypes.equals(before.dtypes)
    assert plan.apply(data).frame["label"].value_counts().to_dict() == {
        "cat": 3,
        "dog": 2,
        "bird": 1,
    }


def test_added_ids_never_collide_and_are_stable_across_steps(tmp_path):
    data = images(tmp_path)
    plan = CleaningPlan()
    plan.add(Fix("drop_rows", {"row_ids": [3]}, Message("drop")))
    plan.add(add(("/a.jpg", "cat")))
    plan.add(add(("/b.jpg", "dog")))
    # a later step can refer to an added row by its id
    plan.add(Fix("relabel", {"labels": {str(ADDED_ROW_BASE + 1): "cat"}}, Message("relabel")))
    frame = plan.apply(data).frame
    assert frame["row_id"].tolist() == [0, 1, 2, ADDED_ROW_BASE, ADDED_ROW_BASE + 1]
    assert frame["label"].tolist()[-1] == "cat"
    assert plan.summary(data) == {
        "steps": 4,
        "rows_before": 4,
        "rows_after": 5,
        "rows_dropped": 1,
        "labels_changed": 0,
        "texts_normalized": 0,
        "rows_added": 2,
    }
    # a dataset whose ids already pass the base still gets fresh ones
    big = data.with_frame(data.frame.assign(row_id=data.frame["row_id"] + ADDED_ROW_BASE))
    ids = CleaningPlan([*plan.steps[1:2]]).apply(big).frame["row_id"].tolist()
    assert ids[-1] == ADDED_ROW_BASE + 4 and len(set(ids)) == 5


def test_undo_removes_the_added_rows(tmp_path):
    data = images(tmp_path)
    plan = CleaningPlan()
    plan.add(add(("/a.jpg", "cat")))
    assert len(plan.apply(data)) == 5
    plan.undo()
    pd.testing.assert_frame_equal(plan.apply(data).frame, data.frame)


def test_json_round_trip_replays_the_same_rows(tmp_path):
    data = images(tmp_path)
    plan = CleaningPlan()
    plan.add(add(("/a.jpg", "cat"), ("/b.jpg", "fish")), "evaluation.add")
    restored = CleaningPlan.from_json(json.loads(json.dumps(plan.to_json())))
    assert restored.steps[0].fix.kind == "add_rows"
    pd.testing.assert_frame_equal(restored.apply(images(tmp_path)).frame, plan.apply(data).frame)


@pytest.mark.parametrize(
    "row",
    [
        {"item": "", "label": "cat"},
        {"item": "/a.jpg"},
        {"item": "/a.jpg", "label": None},
        "not a row",
    ],
)
def test_a_malformed_row_is_refused(tmp_path, row):
    plan = CleaningPlan([])
    plan.add(Fix("add_rows", {"rows": [row]}, Message("bad")))
    with pytest.raises(ValueError):
        plan.apply(images(tmp_path))


def test_added_text_rows_are_saved_with_the_table(tmp_path):
    frame = make_frame(["good soup", "a goal"], ["food", "sport"], source_lines=[2, 3])
    data = Dataset(
        "text",
        frame,
        DatasetSource(
            "table", str(tmp_path / "in.csv"), "csv", item_column="text", label_column="label"
        ),
    )
    plan = CleaningPlan()
    plan.add(add(("fresh bread", "food")))
    written = save_dataset(plan.apply(data), tmp_path / "out")
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines == ["text,label", "good soup,food", "a goal,sport", "fresh bread,food"]
