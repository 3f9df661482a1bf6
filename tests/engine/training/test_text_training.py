"""Text models: instant and fast modes train, round-trip through packages, explain
themselves, and the fast mode carries English training over to other languages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.dataset_io import load_dataset
from engine.data.text_inputs import TextInput, classify_texts, gather, read_text_file
from engine.models.loading import load_classifier
from engine.models.package import load_package
from engine.training import TrainConfig, train
from tests.helpers.texts import FOOD, SPORT

#: Not in the training data, and not in English.
FOREIGN = {
    "El equipo ganó el partido de fútbol": "sport",
    "Cocinamos sopa de tomate y pan": "food",
    "球队在决赛中赢得了比赛": "sport",
    "我们做了巧克力蛋糕": "food",
    "فاز الفريق بالمباراة النهائية": "sport",
    "طبخنا الأرز مع الخضار": "food",
}


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "topics.csv"
    rows = [(text, "sport") for text in SPORT] + [(text, "food") for text in FOOD]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return load_dataset(str(path))


@pytest.fixture(scope="module")
def instant_model(english, tmp_path_factory):
    return train(
        english, tmp_path_factory.mktemp("m") / "instant", TrainConfig(mode="instant", seed=2)
    )


def test_instant_mode_writes_arrays_and_json_only_and_reproduces_its_validation(instant_model):
    package = load_package(instant_model.package)
    assert package.kind == "text-instant" and package.labels == ["food", "sport"]
    assert sorted(p.suffix for p in package.path.iterdir()) == [
        ".json",
        ".json",
        ".json",
        ".md",
        ".safetensors",
    ]
    evaluation = package.evaluation()
    classifier = load_classifier(package.path)
    probs = classifier.predict_texts(evaluation.items)
    np.testing.assert_allclose(probs, evaluation.probs, atol=1e-5)
    assert instant_model.history and instant_model.history[0]["val_loss"] > 0


def test_instant_probabilities_match_scikit_learn():
    from sklearn.linear_model import SGDClassifier

    from engine.models.text_package import linear_probabilities

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    for labels in (y, y % 2):
        model = SGDClassifier(loss="log_loss", random_state=0).fit(x, labels)
        scores = model.decision_function(x).reshape(len(x), -1)
        np.testing.assert_allclose(linear_probabilities(scores), model.predict_proba(x), atol=1e-6)


def test_instant_explanations_point_at_the_telling_words(instant_model):
    classifier = load_classifier(instant_model.package)
    text = "The chef cooked soup"
    parts = classifier.explain(text)
    assert [text[p.start : p.end] for p in parts] == ["The", "chef", "cooked", "soup"]
    weights = {text[p.start : p.end]: p.weight for p in parts}
    assert max(weights, key=weights.get) in {"chef", "cooked", "soup"}
    chinese = classifier.explain("我们做了蛋糕")
    assert len(chinese) == 6  # one segment per character in a script without spaces


@pytest.mark.slow
def test_fast_mode_trained_on_english_classifies_other_languages(english, tmp_path):
    result = train(english, tmp_path / "fast", TrainConfig(mode="fast", seed=2))
    package = load_package(result.package)
    assert package.kind == "text-linear" and package.manifest["backbone"]["kind"] == "e5"
    classifier = load_classifier(result.package)
    texts = list(FOREIGN)
    predicted = [classifier.labels[i] for i in classifier.predict_texts(texts).argmax(axis=1)]
    assert sum(p == FOREIGN[t] for p, t in zip(predicted, texts, strict=True)) >= 5
    results = classify_texts(classifier, [TextInput(t, t) for t in texts], top_k=2)
    assert [r.language for r in results] == ["es", "es", "zh", "zh", "ar", "ar"]
    assert all(len(r.predictions) == 2 for r in results)


def test_text_inputs_report_bad_files_and_read_other_encodings(tmp_path):
    (tmp_path / "latin.txt").write_bytes("Café crème très sucré".encode("cp1252"))
    (tmp_path / "big.txt").write_bytes(b"x" * (5 * 1024 * 1024 + 1))
    table = tmp_path / "notes.csv"
    pd.DataFrame({"note": ["first", "second"], "id": [1, 2]}).to_csv(table, index=False)
    inputs = gather(
        ["typed"],
        [str(tmp_path / "latin.txt"), str(tmp_path / "big.txt"), str(tmp_path / "missing.txt")],
        None,
    )
    assert inputs[0].text == "typed" and inputs[1].text == "Café crème très sucré"
    assert "5 MB" in inputs[2].error.text() and inputs[3].error is not None
    rows = gather([], [str(table)], "note")
    assert [(r.name, r.text) for r in rows] == [
        ("notes.csv, row 2", "first"),
        ("notes.csv, row 3", "second"),
    ]
    assert read_text_file(tmp_path / "latin.txt").error is None


def test_cli_classifies_text_typed_from_files_and_from_a_table_column(instant_model, tmp_path):
    from ui.cli import main

    (tmp_path / "doc.txt").write_text("The goalkeeper saved it", encoding="utf-8")
    table = tmp_path / "inbox.csv"
    pd.DataFrame({"message": ["Bake the bread", "Score a goal"]}).to_csv(table, index=False)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "classify",
                "--model",
                str(instant_model.package),
                "--json",
                "--top-k",
                "1",
                "--text",
                "We grilled fish",
                "--text-file",
                str(tmp_path / "doc.txt"),
                str(table),
                "--column",
                "message",
            ]
        )
    assert code == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]  # JSON Lines
    assert [row["input"] for row in rows] == [
        "Text 1",
        str(tmp_path / "doc.txt"),
        "inbox.csv, row 2",
        "inbox.csv, row 3",
    ]
    assert all(len(row["predictions"]) == 1 and "language" in row for row in rows)


@pytest.mark.slow
def test_finetune_a_local_transformer_folder_and_use_its_self_contained_package(english, tmp_path):
    import shutil

    from engine.models.backbones.tiny_models import tiny_text_model

    folder = tiny_text_model(tmp_path / "tiny-bert", SPORT + FOOD)
    events = []
    result = train(
        english,
        tmp_path / "model",
        TrainConfig(
            mode="finetune",
            backbone=str(folder),
            epochs=3,
            batch_size=8,
            seed=1,
            learning_rate=1e-3,
        ),
        on_event=events.append,
    )
    package = load_package(result.package)
    assert package.kind == "text-finetuned" and package.manifest["backbone"]["kind"] == "local"
    assert {"config.json", "tokenizer.json"} <= {p.name for p in package.path.iterdir()}
    assert [e.epoch for e in events if e.kind == "epoch"] == [1, 2, 3][: len(result.history)]
    shutil.rmtree(folder)  # the package carries its network and tokenizer
    classifier = load_classifier(result.package)
    probs = classifier.predict_texts(["The team won", "Bake the bread"])
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    evaluation = package.evaluation()
    np.testing.assert_allclose(
        classifier.predict_texts(evaluation.items), evaluation.probs, atol=1e-4
    )
