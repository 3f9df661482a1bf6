"""Evaluation numbers against scikit-learn, calibration by hand, JSON, and a real image run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from engine.core.jobs import Cancelled, CancelToken, UserError
from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.models.contract import Classifier
from engine.models.evaluation import Evaluation, compare, evaluate_classifier
from tests.helpers.images import RedBlueClassifier, tinted


def random_evaluation(seed: int, n: int = 300, classes: int = 5) -> Evaluation:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * 2
    y_true = rng.integers(0, classes, n)
    logits[np.arange(n), y_true] += rng.uniform(0, 3, n)  # better than chance, not perfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Evaluation(
        [f"class {i}" for i in range(classes)], [f"item {i}" for i in range(n)], y_true, probs
    )


def one_hot_probs(predicted: list[int], classes: int, confidence: float = 0.8) -> np.ndarray:
    probs = np.full((len(predicted), classes), (1 - confidence) / (classes - 1), dtype=np.float32)
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def assert_matches_sklearn(evaluation: Evaluation) -> None:
    y_true, y_pred = evaluation.y_true, evaluation.y_pred
    labels = np.arange(len(evaluation.labels))
    assert evaluation.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert evaluation.macro_f1 == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    reports = evaluation.per_class()
    assert [r.label for r in reports] == evaluation.labels
    np.testing.assert_allclose([r.precision for r in reports], precision)
    np.testing.assert_allclose([r.recall for r in reports], recall)
    np.testing.assert_allclose([r.f1 for r in reports], f1)
    assert [r.support for r in reports] == support.tolist()
    np.testing.assert_array_equal(
        evaluation.confusion(), confusion_matrix(y_true, y_pred, labels=labels)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_predictions_match_sklearn(seed):
    evaluation = random_evaluation(seed)
    assert 0.3 < evaluation.accuracy < 0.95  # a realistic, imperfect model
    assert_matches_sklearn(evaluation)


def test_hand_made_case_with_a_class_never_predicted_and_one_never_present():
    # cat predicted for every dog, "bird" is the model's but absent from the data
    labels = ["cat", "dog", "bird"]
    y_true = [0, 0, 1, 1, 0]
    predicted = [0, 0, 0, 0, 0]
    evaluation = Evaluation(labels, list("abcde"), np.array(y_true), one_hot_probs(predicted, 3))
    assert_matches_sklearn(evaluation)
    cat, dog, bird = evaluation.per_class()
    assert (cat.precision, cat.recall, cat.support) == (pytest.approx(0.6), 1.0, 3)
    assert (dog.precision, dog.recall, dog.f1, dog.support) == (0, 0, 0, 2)
    assert bird.support == 0 and bird.f1 == 0
    # bird is neither true nor predicted: macro-F1 averages cat and dog only
    assert evaluation.macro_f1 == pytest.approx((0.75 + 0) / 2)
    assert evaluation.confusion().tolist() == [[3, 0, 0], [2, 0, 0], [0, 0, 0]]


def test_cell_examples_and_mistakes_are_most_confident_first():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3], [0.45, 0.55], [0.1, 0.9]])
    evaluation = Evaluation(["a", "b"], list("pqrstu"), np.array([0, 0, 0, 1, 1, 1]), probs)
    assert evaluation.cell_examples(0, 1) == [2, 1]  # 0.8 before 0.6
    assert evaluation.cell_examples(1, 1) == [5, 4]
    assert evaluation.cell_examples(0, 0) == [0]
    assert evaluation.misclassified() == [2, 3, 1]  # 0.8, 0.7, 0.6
    assert all(evaluation.y_pred[i] != evaluation.y_true[i] for i in evaluation.misclassified())


def test_expected_calibration_error_by_hand():
    # bin (0.5, 0.6]: confidences 0.55, 0.55, one right -> |0.5 - 0.55| = 0.05, weight 2/5
    # bin (0.8, 0.9]: confidences 0.85 x3, all right -> |1 - 0.85| = 0.15, weight 3/5
    probs = np.array([[0.55, 0.45], [0.45, 0.55], [0.85, 0.15], [0.15, 0.85], [0.85, 0.15]])
    y_true = np.array([0, 0, 0, 1, 0])
    evaluation = Evaluation(["a", "b"], list("vwxyz"), y_true, probs)
    assert evaluation.expected_calibration_error() == pytest.approx(0.4 * 0.05 + 0.6 * 0.15)
    bins = evaluation.reliability()
    assert len(bins) == 10 and sum(b.count for b in bins) == 5
    assert (bins[5].lower, bins[5].upper, bins[5].count) == (
        pytest.approx(0.5),
        pytest.approx(0.6),
        2,
    )
    assert bins[5].accuracy == 0.5 and bins[5].confidence == pytest.approx(0.55)
    assert bins[8].count == 3 and bins[8].accuracy == 1.0
    assert evaluation.expected_calibration_error(n_bins=1) == pytest.approx(
        abs(0.8 - 0.73), abs=1e-6
    )


def test_a_perfectly_calibrated_model_scores_zero_and_summary_is_json():
    evaluation = Evaluation(
        ["a", "b"], ["x", "y"], np.array([0, 1]), np.array([[1.0, 0], [0, 1.0]])
    )
    assert evaluation.expected_calibration_error() == 0
    summary = evaluation.summary()
    assert summary == {"accuracy": 1.0, "macro_f1": 1.0, "ece": 0.0, "count": 2}
    assert json.loads(json.dumps(summary)) == summary


def test_json_round_trip_keeps_every_number():
    evaluation = random_evaluation(4, n=50)
    evaluation.skipped.append(("broken.jpg", "broken.jpg is damaged"))
    text = json.dumps(evaluation.to_json())
    again = Evaluation.from_json(json.loads(text))
    assert again.labels == evaluation.labels and again.items == evaluation.items
    np.testing.assert_array_equal(again.probs, evaluation.probs)  # float32 values, exactly
    np.testing.assert_array_equal(again.y_pred, evaluation.y_pred)
    assert again.summary() == evaluation.summary()
    assert again.skipped == [("broken.jpg", "broken.jpg is damaged")]
    assert again.row_ids is None
    with_ids = Evaluation(["a", "b"], ["x", "y"], np.array([0, 1]), np.eye(2), row_ids=[7, 9])
    assert Evaluation.from_json(with_ids.to_json()).row_ids.tolist() == [7, 9]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(format="something else"),
        lambda d: d.update(version=99),
        lambda d: d.update(labels=[]),
        lambda d: d.update(y_true=d["y_true"][:-1]),
        lambda d: d["y_true"].__setitem__(0, 7),
        lambda d: d["y_true"].__setitem__(0, "1"),
        lambda d: d["probs"][0].pop(),
        lambda d: d["probs"][1].__setitem__(0, "0.5"),
        lambda d: d["probs"][1].__setitem__(0, float("nan")),
        lambda d: d["probs"][1].__setitem__(0, 3.0),
        lambda d: d.update(skipped=[["only one"]]),
        lambda d: d.update(row_ids=[1]),
        lambda d: d.pop("items"),
    ],
)
def test_damaged_json_is_refused_with_a_user_error(damage):
    data = random_evaluation(5, n=6, classes=3).to_json()
    damage(data)
    with pytest.raises(UserError) as error:
        Evaluation.from_json(data)
    assert "damaged" in error.value.message and error.value.details


def test_a_json_value_that_is_not_an_object_is_refused():
    with pytest.raises(UserError):
        Evaluation.from_json(["not", "an", "object"])


def test_empty_evaluation_reports_zero_without_failing():
    evaluation = Evaluation(["a", "b"], [], np.zeros(0), np.zeros((0, 2)))
    assert evaluation.summary() == {"accuracy": 0.0, "macro_f1": 0.0, "ece": 0.0, "count": 0}
    assert evaluation.confusion().tolist() == [[0, 0], [0, 0]]
    assert evaluation.misclassified() == []
    assert Evaluation.from_json(evaluation.to_json()).summary() == evaluation.summary()


def test_compare_counts_items_each_model_gets_right():
    y_true = np.array([0, 1, 0, 1])
    a = Evaluation(["x", "y"], list("pqrs"), y_true, one_hot_probs([0, 1, 1, 0], 2))
    # b orders its labels the other way round: correctness is compared by label name
    b = Evaluation(["y", "x"], list("pqrs"), 1 - y_true, one_hot_probs([1, 1, 1, 1], 2))
    result = compare(a, b)
    assert result["same_items"] and result["common"] == 4
    assert (
        result["both_right"],
        result["only_a_right"],
        result["only_b_right"],
        result["both_wrong"],
    ) == (1, 1, 1, 1)
    assert result["delta"]["accuracy"] == pytest.approx(b.accuracy - a.accuracy)
    partial = compare(a, Evaluation(["x", "y"], ["p", "other"], np.array([0, 0]), np.eye(2)))
    assert not partial["same_items"] and partial["common"] == 1


# --------------------------------------------------------------------------- real images


@pytest.fixture
def image_dataset(tmp_path) -> Dataset:
    from PIL import Image

    items, labels = [], []
    for index in range(4):
        for name, colour in (("red", (230, 20, 20)), ("blue", (20, 20, 230))):
            path = tmp_path / f"{name}-{index}.jpg"
            Image.fromarray(tinted(index * 7 + len(name), colour)).save(path, quality=90)
            items.append(str(path))
            labels.append(name)
    labels[0] = "blue"  # a red picture labelled blue: one mistake the model will "make"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((tmp_path / "red-1.jpg").read_bytes()[:300])
    items += [str(broken), str(tmp_path / "red-2.jpg"), str(tmp_path / "red-3.jpg")]
    labels += ["red", "purple", pd.NA]
    frame = make_frame(items, labels)
    return Dataset("image", frame, DatasetSource("folder", str(tmp_path)), name="colours")


def test_evaluate_classifier_on_real_images(image_dataset):
    reports = []
    evaluation = evaluate_classifier(
        RedBlueClassifier(),
        image_dataset,
        lambda done, total, message: reports.append((done, total)),
    )
    assert len(evaluation) == 8
    assert evaluation.labels == ["red", "blue", "green"]
    np.testing.assert_allclose(evaluation.probs.sum(axis=1), 1, atol=1e-5)
    assert evaluation.accuracy == pytest.approx(7 / 8)
    (mistake,) = evaluation.misclassified()
    assert evaluation.items[mistake].endswith("red-0.jpg")
    assert evaluation.labels[evaluation.y_true[mistake]] == "blue"
    assert evaluation.labels[evaluation.y_pred[mistake]] == "red"
    assert evaluation.row_ids.tolist() == list(range(8))
    skipped = dict(evaluation.skipped)
    assert len(skipped) == 3
    assert any(
        item.endswith("broken.jpg") and "damaged" in reason for item, reason in skipped.items()
    )
    assert any("purple" in reason for reason in skipped.values())
    assert any("no label" in reason for reason in skipped.values())
    assert reports and reports[-1][0] == reports[-1][1]
    assert_matches_sklearn(evaluation)


def test_evaluate_classifier_can_be_cancelled(image_dataset):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        evaluate_classifier(RedBlueClassifier(), image_dataset, cancel=cancel)


class KeywordTextClassifier(Classifier):
    name = "keywords"
    labels = ["food", "sport"]
    task = "text"

    def predict_batch(self, pixels):  # pragma: no cover - a text model gets no pixels
        raise AssertionError

    def predict_texts(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.9, 0.1] if "soup" in text else [0.2, 0.8] for text in texts])


def test_evaluate_text_classifier_and_refuse_a_task_mismatch(image_dataset):
    texts = [f"soup number {i}" for i in range(70)] + ["a goal", "more soup"]
    labels = ["food"] * 70 + ["sport", "sport"]
    dataset = Dataset("text", make_frame(texts, labels), DatasetSource("table", "t.csv"))
    evaluation = evaluate_classifier(KeywordTextClassifier(), dataset)
    assert len(evaluation) == 72 and evaluation.misclassified() == [71]
    assert evaluation.items[71] == "more soup"
    with pytest.raises(UserError) as error:
        evaluate_classifier(KeywordTextClassifier(), image_dataset)
    assert "text model" in error.value.message


def test_nothing_to_evaluate_is_a_user_error(tmp_path):
    dataset = Dataset(
        "image",
        make_frame([str(tmp_path / "a.jpg")], ["purple"]),
        DatasetSource("folder", str(tmp_path)),
    )
    with pytest.raises(UserError) as error:
        evaluate_classifier(RedBlueClassifier(), dataset)
    assert "nothing to evaluate" in error.value.message
