"""Local Hugging Face model folders as backbones: hostile folders are refused before
anything in them is read as code; tiny random-initialised folders give cached text and
image features, and train image models (fast and fine-tune) that classify."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.models.backbones import local_folder as lf
from engine.models.backbones.local_folder import inspect_folder
from engine.models.backbones.tiny_models import tiny_image_model, tiny_text_model

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


class Boom:
    """Unpickling this creates ``target``: proof that a file was unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory) -> Path:
    return tiny_text_model(
        tmp_path_factory.mktemp("models") / "tiny-bert", ["good great lovely", "bad awful terrible"]
    )


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    return tiny_image_model(tmp_path_factory.mktemp("models") / "tiny-vit")


@pytest.fixture
def copy_of(tmp_path):
    def make(folder: Path) -> Path:
        return Path(shutil.copytree(folder, tmp_path / folder.name))

    return make


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any attempt to unpickle fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle a file")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)


def _refused(folder, task: str, msgid: str) -> UserError:
    with pytest.raises(UserError) as caught:
        inspect_folder(folder, task)
    assert caught.value.msgid == msgid, caught.value.message
    return caught.value


# --------------------------------------------------------------------------- refusals


def test_valid_folders_are_described_by_type_and_weights_hash(text_dir, image_dir):
    text = inspect_folder(text_dir, "text")
    assert (text.task, text.model_type, text.name) == ("text", "bert", "tiny-bert")
    assert text.id == f"bert-{text.weights_sha256[:16]}" and len(text.weights_sha256) == 64
    image = inspect_folder(image_dir, "image")
    assert image.model_type == "vit" and image.id.startswith("vit-")


def test_a_file_or_a_missing_path_is_not_a_model_folder(tmp_path, text_dir):
    error = _refused(text_dir / "config.json", "text", lf.MSG_NOT_FOLDER)
    assert "config.json" in error.message
    _refused(tmp_path / "nowhere", "text", lf.MSG_NOT_FOLDER)
    _refused(tmp_path, "text", lf.MSG_NO_CONFIG)


def test_a_damaged_config_or_unknown_model_type_is_named(text_dir, copy_of):
    folder = copy_of(text_dir)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    assert "config.json" in _refused(folder, "text", lf.MSG_BAD_JSON).message
    (folder / "config.json").write_text(json.dumps({"model_type": "made-up-net"}), encoding="utf-8")
    assert "made-up-net" in _refused(folder, "text", lf.MSG_UNKNOWN_TYPE).message


def test_pickled_weights_are_refused_and_never_unpickled(
    text_dir, copy_of, tmp_path, no_unpickling
):
    from engine.models.text_features import TextEncoder

    folder = copy_of(text_dir)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Boom(marker)))
    error = _refused(folder, "text", lf.MSG_PICKLE)
    assert "pytorch_model.bin" in error.message and "safetensors" in error.message
    with pytest.raises(UserError) as caught:
        TextEncoder(folder)
    assert caught.value.msgid == lf.MSG_PICKLE
    assert not marker.exists()


def test_safetensors_beside_a_pickle_are_used_and_the_pickle_is_left_alone(
    text_dir, copy_of, tmp_path, no_unpickling
):
    from engine.models.text_features import TextEncoder

    folder = copy_of(text_dir)
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Boom(marker)))
    (folder / "training_args.bin").write_bytes(pickle.dumps(Boom(marker)))
    vectors = TextEncoder(folder).encode(["good", "bad"])
    assert vectors.shape == (2, 32)
    assert not marker.exists()


@pytest.mark.parametrize("file", ["config.json", "tokenizer_config.json"])
def test_auto_map_custom_code_is_refused(text_dir, copy_of, file):
    folder = copy_of(text_dir)
    data = json.loads((folder / file).read_text(encoding="utf-8"))
    data["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / file).write_text(json.dumps(data), encoding="utf-8")
    error = _refused(folder, "text", lf.MSG_CUSTOM_CODE)
    assert file in error.message and "trust_remote_code" in error.message


def test_auto_map_in_an_image_processor_config_is_refused(image_dir, copy_of):
    folder = copy_of(image_dir)
    data = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    data["auto_map"] = {"AutoImageProcessor": "processing_evil.EvilProcessor"}
    (folder / "preprocessor_config.json").write_text(json.dumps(data), encoding="utf-8")
    assert "preprocessor_config.json" in _refused(folder, "image", lf.MSG_CUSTOM_CODE).message


def test_a_python_file_in_the_folder_is_refused(image_dir, copy_of):
    folder = copy_of(image_dir)
    (folder / "extras").mkdir()
    (folder / "extras" / "modeling_evil.py").write_text("import os\n", encoding="utf-8")
    assert "modeling_evil.py" in _refused(folder, "image", lf.MSG_CUSTOM_CODE).message


def test_missing_weights_tokenizer_or_processor_are_named(text_dir, image_dir, copy_of):
    _refused(image_dir, "text", lf.MSG_NO_TOKENIZER)  # an image model picked for text
    text = copy_of(text_dir)
    (text / "tokenizer.json").unlink()
    _refused(text, "text", lf.MSG_NO_TOKENIZER)
    image = copy_of(image_dir)
    (image / "preprocessor_config.json").unlink()
    _refused(image, "image", lf.MSG_NO_PROCESSOR)
    (image / "model.safetensors").unlink()
    _refused(image, "image", lf.MSG_NO_SAFETENSORS)


def test_a_truncated_weights_file_is_reported_as_damaged(image_dir, copy_of):
    folder = copy_of(image_dir)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert "model.safetensors" in _refused(folder, "image", lf.MSG_DAMAGED_WEIGHTS).message


# --------------------------------------------------------------------------- text features


def test_text_features_of_a_local_model_are_unit_vectors_cached_by_model(
    text_dir, tmp_path, monkeypatch
):
    from engine.models import text_features as tf

    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    texts = ["good great lovely", "bad awful terrible", "good great lovely", "ein Satz"]
    first = tf.text_features(texts, folder=text_dir, device="cpu")
    assert first.shape == (4, 32) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first[0], first[2]) and not np.allclose(first[0], first[1])
    assert tf.cache_folder(text_dir).name.startswith(inspect_folder(text_dir, "text").id)

    def no_network(self, ids):
        raise AssertionError("a cached text went through the network again")

    monkeypatch.setattr(tf.TextEncoder, "_forward", no_network)
    again = tf.text_features(list(reversed(texts)), folder=text_dir, device="cpu")
    np.testing.assert_array_equal(again, first[::-1])


# --------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from engine.data.dataset_io import load_dataset
    from tests.helpers.digits import write_digits

    folder = write_digits(
        tmp_path_factory.mktemp("digits") / "digits", per_class=12, classes=(0, 1, 6)
    )
    return load_dataset(str(folder))


def test_image_features_are_pooled_cached_and_nan_for_broken_files(
    image_dir, tmp_path, monkeypatch
):
    from engine.models.backbones import hf_image
    from tests.helpers.synthetic import natural

    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    paths = []
    for seed in range(3):
        paths.append(tmp_path / f"photo{seed}.jpg")
        natural(seed).save(paths[-1])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    paths.insert(1, tmp_path / "broken.jpg")
    first = hf_image.hf_image_features(image_dir, paths)
    assert first.shape == (4, 32)
    assert np.isnan(first[1]).all() and np.isfinite(first[[0, 2, 3]]).all()
    assert not np.allclose(first[0], first[2])

    hf_image.release_backbones()
    monkeypatch.setattr(hf_image, "load_backbone", lambda *a, **k: pytest.fail("not cached"))
    again = hf_image.hf_image_features(image_dir, [paths[3], paths[0]])
    np.testing.assert_array_equal(again, first[[3, 0]])


def test_image_features_report_progress_and_stop_soon_after_cancel(
    image_dir, tmp_path, monkeypatch
):
    import time

    from engine.core.jobs import Cancelled, CancelToken
    from engine.models.backbones import hf_image
    from tests.helpers.synthetic import natural

    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    paths = []
    for seed in range(12):
        paths.append(tmp_path / f"slow{seed}.jpg")
        natural(100 + seed).save(paths[-1])
    decoded, real_decode = [], hf_image._decode

    def slow_decode(path, settings):
        time.sleep(0.1)  # a camera photo, not a thumbnail
        decoded.append(path)
        return real_decode(path, settings)

    monkeypatch.setattr(hf_image, "_decode", slow_decode)
    cancel, reports = CancelToken(), []

    def progress(done, total, message):
        reports.append((done, total, message))
        if decoded:
            cancel.cancel()

    with pytest.raises(Cancelled):
        hf_image.hf_image_features(image_dir, paths, progress, cancel)
    assert 0 < len(decoded) < len(paths)
    assert any(message == "Computing image features…" for _d, _t, message in reports)


@pytest.mark.slow
def test_fast_mode_on_a_local_vit_writes_a_package_that_classifies(
    digits, image_dir, copy_of, tmp_path
):
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier
    from engine.models.package import load_package
    from engine.training import TrainConfig, train

    backbone = copy_of(image_dir)
    config = TrainConfig(mode="fast", epochs=30, seed=1, device="cpu", backbone=str(backbone))
    result = train(digits, tmp_path / "model", config)
    package = load_package(result.package)
    assert package.kind == "image-hf-linear"
    assert package.manifest["backbone"]["id"] == inspect_folder(backbone, "image").id
    assert package.manifest["backbone"]["path"] == str(backbone)
    assert package.manifest["preprocess"]["size"] == 32
    # a random-initialised backbone gives weak features; the head still learns from them
    assert result.history[-1]["loss"] < result.history[0]["loss"]

    evaluation = package.evaluation()
    classifier = load_classifier(result.package)
    try:
        assert classifier.labels == ["0", "1", "6"]
        outcomes = classify_images(classifier, evaluation.items[:6], top_k=3)
    finally:
        classifier.close()
    for row, outcome in enumerate(outcomes):
        scores = {p.label: p.score for p in outcome.predictions}
        for label, expected in zip(evaluation.labels, evaluation.probs[row].tolist(), strict=True):
            assert scores[label] == pytest.approx(expected, abs=2e-3)

    shutil.rmtree(backbone)  # the head needs its backbone: a clear message, not a crash
    with pytest.raises(UserError) as caught:
        load_classifier(result.package)
    assert str(backbone) in caught.value.message


@pytest.mark.slow
def test_fine_tuning_a_local_vit_gives_a_self_contained_package(
    digits, image_dir, copy_of, tmp_path
):
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier
    from engine.models.package import load_package
    from engine.training import TrainConfig, train

    backbone = copy_of(image_dir)
    config = TrainConfig(
        mode="finetune",
        epochs=1,
        batch_size=8,
        seed=0,
        device="cpu",
        workers=0,
        backbone=str(backbone),
    )
    result = train(digits, tmp_path / "model", config)
    package = load_package(result.package)
    assert package.kind == "image-hf-finetuned"
    assert (result.package / "config.json").is_file()
    assert (result.package / "preprocessor_config.json").is_file()
    saved = json.loads((result.package / "config.json").read_text(encoding="utf-8"))
    assert sorted(saved["id2label"].values()) == ["0", "1", "6"]

    shutil.rmtree(backbone)  # a fine-tuned package does not need the original folder
    classifier = load_classifier(result.package)
    try:
        outcomes = classify_images(classifier, package.evaluation().items[:3], top_k=1)
    finally:
        classifier.close()
    assert all(o.error is None and o.predictions[0].label in ("0", "1", "6") for o in outcomes)
