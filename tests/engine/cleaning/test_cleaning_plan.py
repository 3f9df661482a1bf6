"""CleaningPlan: ordered, undoable, replayable fixes that never edit the input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cleaning.findings import Fix, Message
from engine.cleaning.plan import PLAN_VERSION, CleaningPlan, PlanStep
from engine.cleaning.run import inspect_dataset
from engine.core.jobs import UserError
from tests.helpers.texts import dataset, planted


def _fix(kind: str, **params) -> Fix:
    return Fix(kind, params, Message("test fix"))


def small():
    texts = ["cafÃ©  au lait", "Tea", "Tea", "tea!", "Soup\u200b of the day", "Bread"]
    labels = ["drink", "drink", "drink", "Drink", "food", None]
    return dataset(texts, labels)


def test_each_step_kind():
    data = small()
    plan = CleaningPlan()
    plan.add(_fix("drop_rows", row_ids=[5, 99]), "label.missing")
    plan.add(_fix("keep_one", groups=[[1, 2, 3]]), "text.exact_duplicates")
    plan.add(_fix("merge_labels", mapping={"Drink": "drink"}), "label.variants")
    plan.add(_fix("relabel", labels={4: "meal"}), "label.likely_errors")
    plan.add(_fix("normalize_text", row_ids=[0, 4]), "text.mojibake")
    result = plan.apply(data).frame
    assert result["row_id"].tolist() == [0, 1, 4]
    assert result["item"].tolist() == ["café au lait", "Tea", "Soup of the day"]
    assert result["label"].tolist() == ["drink", "drink", "meal"]
    assert plan.summary(data) == {
        "steps": 5,
        "rows_before": 6,
        "rows_after": 3,
        "rows_dropped": 3,
        "labels_changed": 1,
        "texts_normalized": 2,
    }


def test_keep_one_keeps_the_first_row_still_present():
    data = small()
    plan = CleaningPlan()
    plan.add(_fix("drop_rows", row_ids=[1]))
    plan.add(_fix("keep_one", groups=[[1, 2, 3]]))
    assert plan.apply(data).frame["row_id"].tolist() == [0, 2, 4, 5]


def test_apply_never_touches_the_input_and_keeps_dtypes():
    data = small()
    before = data.frame.copy()
    plan = CleaningPlan()
    plan.add(_fix("relabel", labels={"0": "coffee"}))  # string keys, as JSON gives them
    plan.add(_fix("normalize_text", row_ids=[0]))
    result = plan.apply(data)
    pd.testing.assert_frame_equal(data.frame, before)
    assert result.frame is not data.frame
    assert result.frame.loc[0, "label"] == "coffee"
    assert result.frame.dtypes.equals(before.dtypes)


def test_applying_then_undoing_everything_gives_the_original():
    data, _ = planted()
    plan = CleaningPlan()
    for finding in inspect_dataset(data):
        if finding.fix is not None:
            plan.add_finding(finding)
    assert len(plan) >= 8
    cleaned = plan.apply(data)
    assert len(cleaned) < len(data)
    assert cleaned.frame["row_id"].is_unique
    while plan.undo() is not None:
        pass
    assert plan.undo() is None
    pd.testing.assert_frame_equal(plan.apply(data).frame, data.frame)


def test_undo_removes_only_the_last_step():
    data = small()
    plan = CleaningPlan()
    plan.add(_fix("drop_rows", row_ids=[0]))
    plan.add(_fix("drop_rows", row_ids=[1]))
    step = plan.undo()
    assert isinstance(step, PlanStep) and step.fix.params == {"row_ids": [1]}
    assert plan.apply(data).frame["row_id"].tolist() == [1, 2, 3, 4, 5]


def test_a_saved_plan_replays_identically_on_a_fresh_copy():
    data, _ = planted()
    plan = CleaningPlan()
    for finding in inspect_dataset(data):
        if finding.fix is not None:
            plan.add_finding(finding, note=Message("chosen by {who}", {"who": "test"}))
    saved = json.dumps(plan.to_json())
    assert json.loads(saved)["version"] == PLAN_VERSION
    restored = CleaningPlan.from_json(json.loads(saved))
    assert [s.finding_kind for s in restored] == [s.finding_kind for s in plan]
    assert restored.steps[0].note.text() == "chosen by test"
    fresh, _ = planted()  # a new load of the same data
    pd.testing.assert_frame_equal(restored.apply(fresh).frame, plan.apply(data).frame)
    assert restored.summary(fresh) == plan.summary(data)


def test_unknown_plan_version_is_a_user_error():
    with pytest.raises(UserError) as caught:
        CleaningPlan.from_json({"version": 99, "steps": []})
    assert "99" in caught.value.message


def test_normalize_text_is_for_text_datasets():
    from engine.data.datasets import Dataset, DatasetSource, make_frame

    images = Dataset("image", make_frame(["/a.jpg"], ["cat"]), DatasetSource("folder", "/"))
    plan = CleaningPlan()
    plan.add(_fix("normalize_text", row_ids=[0]))
    with pytest.raises(ValueError):
        plan.apply(images)
