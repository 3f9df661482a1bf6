"""Combined models: weights from validation data, a self-contained package that classifies,
evaluates, exports and refuses what cannot be combined."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.models.ensemble import KIND, combine
from engine.models.ensemble_card import EQUAL, SEARCHED
from engine.models.ensemble_weights import fit_weights
from tests.helpers import deploy_models as dm
from tests.helpers.texts import noisy_topics


@pytest.fixture(scope="module")
def text_models(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ensemble-text")
    data = noisy_topics(base / "data")
    return {
        "a": dm.train_package(data, base / "a", mode="instant", seed=3),
        "b": dm.train_package(data, base / "b", mode="instant", seed=3, epochs=1),
        "other-split": dm.train_package(data, base / "c", mode="instant", seed=11),
        "base": base,
    }


def test_weights_favour_the_member_that_explains_the_validation_data():
    y = np.array([0, 1, 0, 1, 0, 1] * 5)
    good = np.eye(2)[y] * 0.9 + 0.05
    coin = np.full_like(good, 0.5)
    weights = fit_weights([coin, good], y)
    assert weights[1] > 0.8 and weights.sum() == pytest.approx(1.0)


def test_combining_two_models_gives_a_package_that_classifies_and_evaluates(text_models):
    from engine.models.evaluation import evaluate_classifier
    from engine.models.loading import load_classifier
    from engine.models.package import load_package

    out = text_models["base"] / "ensemble"
    result = combine([text_models["a"], text_models["b"]], out, name="Both")
    assert result.weighting == SEARCHED
    assert result.checked > 10 and result.accuracy is not None
    assert sum(member.weight for member in result.members) == pytest.approx(1.0)
    package = load_package(out)
    assert package.kind == KIND and package.name == "Both"
    assert any(name.startswith("members/01/") for name in package.manifest["files"])
    saved = package.evaluation()
    assert saved is not None and saved.accuracy == pytest.approx(result.accuracy)
    assert package.metrics["accuracy"] == pytest.approx(result.accuracy)
    assert "Both" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")

    classifier = load_classifier(out)
    try:
        probs = classifier.predict_texts(["the team scored a goal", "garlic soup and bread"])
        assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        top = [classifier.labels[i] for i in probs.argmax(axis=1)]
        assert top == ["sport", "food"]
        # evaluate through the same loader as the CLI and the Evaluate page
        again = evaluate_classifier(classifier, noisy_topics(text_models["base"] / "again"))
        assert again.accuracy > 0.5
    finally:
        classifier.close()


def test_a_damaged_member_is_refused(text_models, tmp_path):
    import shutil

    from engine.models.loading import load_classifier

    out = tmp_path / "ensemble"
    combine([text_models["a"], text_models["b"]], out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    weights = copy / "members" / "01" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(UserError, match="damaged"):
        load_classifier(copy)


def test_different_validation_sets_get_equal_weights_and_say_so(text_models):
    from engine.models.package import load_package

    out = text_models["base"] / "equal"
    result = combine([text_models["a"], text_models["other-split"]], out)
    assert result.weighting == EQUAL
    assert [member.weight for member in result.members] == pytest.approx([0.5, 0.5])
    manifest = load_package(out).manifest
    assert manifest["ensemble"]["weighting"] == EQUAL
    assert "equal" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_labels_in_another_order_are_mapped():
    """Two members with the same labels in another order: columns follow the ensemble's."""
    from engine.models.ensemble_weights import shared_validation
    from engine.models.evaluation import Evaluation

    items = ["x", "y", "z"]
    first = Evaluation(
        ["cat", "dog"],
        items,
        np.array([0, 1, 0]),
        np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
        row_ids=[1, 2, 3],
    )
    second = Evaluation(
        ["dog", "cat"],
        items,
        np.array([1, 0, 1]),
        np.array([[0.3, 0.7], [0.9, 0.1], [0.2, 0.8]]),
        row_ids=[1, 2, 3],
    )
    shared = shared_validation([first, second], ["cat", "dog"])
    assert shared is not None and shared.same
    assert shared.y_true.tolist() == [0, 1, 0]
    assert np.allclose(shared.probs[1], [[0.7, 0.3], [0.1, 0.9], [0.8, 0.2]])


def test_different_label_sets_are_refused_with_a_clear_message(text_models, tmp_path):
    data = dm.topics_dataset(tmp_path / "two-topics")  # sport and food only
    other = dm.train_package(data, tmp_path / "two", mode="instant")
    with pytest.raises(UserError) as raised:
        combine([text_models["a"], other], tmp_path / "out")
    assert "travel" in raised.value.message and "same categories" in raised.value.message
    assert not (tmp_path / "out").exists()


def test_one_model_or_the_same_model_twice_is_refused(text_models, tmp_path):
    with pytest.raises(UserError, match="at least two"):
        combine([text_models["a"]], tmp_path / "one")
    with pytest.raises(UserError, match="twice"):
        combine([text_models["a"], text_models["a"]], tmp_path / "twice")


def test_text_ensembles_export_only_as_a_taxon_model_file(text_models, tmp_path):
    from engine.deploy import export_model
    from engine.models.package import load_package

    out = text_models["base"] / "ensemble"
    if not out.exists():
        combine([text_models["a"], text_models["b"]], out)
    with pytest.raises(UserError, match=".taxon-model"):
        export_model(out, tmp_path / "x.onnx", "onnx")
    archive = export_model(out, tmp_path / "both.taxon-model", "taxon").output
    assert load_package(archive).kind == KIND


def test_combine_command_writes_the_package_and_reports_json(text_models, tmp_path, capsys):
    from ui.cli import main

    out = tmp_path / "cli"
    code = main(
        [
            "combine",
            str(text_models["a"]),
            str(text_models["b"]),
            "--out",
            str(out),
            "--name",
            "Vote",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["name"] == "Vote" and len(report["members"]) == 2
    assert report["weighting"] == SEARCHED
    assert main(["classify", "--model", str(out), "--text", "a goal for the team", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["predictions"][0]["label"] == "sport"


def test_combine_command_refuses_different_labels(text_models, tmp_path, capsys):
    from ui.cli import main

    data = dm.topics_dataset(tmp_path / "two-topics")
    other = dm.train_package(data, tmp_path / "two", mode="instant")
    assert main(["combine", str(text_models["a"]), str(other), "--out", str(tmp_path / "no")]) == 1
    assert "same categories" in capsys.readouterr().err


# --------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def image_models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("onnxruntime")
    base = tmp_path_factory.mktemp("ensemble-images")
    digits = dm.digits_dataset(base / "digits")
    vit = dm.tiny_image_backbone(base / "tiny-vit")
    return {
        "a": dm.train_package(digits, base / "a", mode="fast", epochs=10, backbone=str(vit)),
        "b": dm.train_package(
            digits, base / "b", mode="fast", epochs=3, backbone=str(vit), learning_rate=0.05
        ),
        "base": base,
    }


@pytest.mark.slow
def test_an_image_ensemble_exports_to_onnx_and_answers_like_taxon(image_models, tmp_path):
    from engine.deploy import export_model, parity
    from engine.deploy.source import image_samples, load_source
    from engine.models.loading import load_classifier

    out = image_models["base"] / "ensemble"
    result = combine([image_models["a"], image_models["b"]], out)
    assert result.checked > 0
    exported = export_model(out, tmp_path / "vote.onnx", "onnx")
    assert exported.parity["top1_agreed"] == exported.parity["checked"]
    samples = image_samples(load_source(out))
    classifier = load_classifier(out)
    try:
        ours = classifier.predict_batch(samples)
    finally:
        classifier.close()
    theirs = parity.run_onnx(str(exported.output), {"pixels": samples})
    assert np.abs(ours - theirs).max() < 1e-4
