"""Model packages lose nothing and exhaust nothing: what may be written over, user files kept,
crash-safe replacement, no replacing a good model by one that learned nothing, hostile
one-file packages and manifests refused with true messages, compact evaluations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.jobs import UserError
from engine.models import package_swap
from engine.models.evaluation import Evaluation
from engine.models.package import load_package, save_package
from tests.helpers.packages import (
    MANIFEST,
    edit_manifest,
    first_weight,
    save_package_at,
    staging_siblings,
    tensors,
)

ROOT = Path(__file__).resolve().parents[3]


# -------------------------------------------------------- 1, 2, 5: what may be written over


def test_a_folder_with_a_junk_manifest_is_not_written_over(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "taxon-model.json").write_text("not json at all", encoding="utf-8")
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(UserError) as raised:
        save_package_at(folder)
    assert "damaged" in raised.value.message and "will not write over it" in raised.value.message
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg", "taxon-model.json"]
    assert (folder / "holiday.jpg").read_bytes() == b"jpeg"


def test_a_package_whose_files_do_not_check_out_is_not_written_over(tmp_path):
    path = save_package_at(tmp_path / "model")
    (path / "model.safetensors").write_bytes(b"my own weights, not the package's")
    with pytest.raises(UserError):
        save_package_at(path, 0.75)
    assert (path / "model.safetensors").read_bytes() == b"my own weights, not the package's"


def test_retraining_keeps_the_users_own_files_in_the_package_folder(tmp_path):
    path = save_package_at(tmp_path / "model", 0.5)
    (path / "notes.txt").write_text("tried lr 1e-2", encoding="utf-8")
    (path / "test-images").mkdir()
    (path / "test-images" / "cat.png").write_bytes(b"png")
    (path / "empty").mkdir()
    save_package_at(path, 0.75)
    assert first_weight(path) == 0.75
    assert (path / "notes.txt").read_text(encoding="utf-8") == "tried lr 1e-2"
    assert (path / "test-images" / "cat.png").read_bytes() == b"png"
    assert (path / "empty").is_dir()
    assert staging_siblings(path) == []


def test_a_user_file_with_a_name_the_new_package_needs_is_never_replaced(tmp_path):
    path = save_package_at(tmp_path / "model")  # saved without an evaluation
    (path / "evaluation.json").write_text("my notes", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        save_package_at(path, 0.75, evaluation={"anything": 1})
    assert "evaluation.json" in raised.value.message
    assert (path / "evaluation.json").read_text(encoding="utf-8") == "my notes"
    assert first_weight(path) == 0.5


def _text_dataset(folder: Path, rows: int = 100, seed: int = 0):
    """Random words with random labels: nothing to learn."""
    from engine.data.dataset_io import load_dataset

    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    texts = [" ".join(rng.choice(words, 6)) + f" {i}" for i in range(rows)]
    labels = rng.choice(["x", "y", "z"], rows)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / "data.csv", index=False)
    return load_dataset(str(folder / "data.csv"))


def test_train_checks_the_output_folder_before_training(tmp_path, monkeypatch):
    import engine.training as training

    dataset = _text_dataset(tmp_path / "data")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "taxon-model.json").write_text("{}", encoding="utf-8")
    (photos / "holiday.jpg").write_bytes(b"jpeg")
    monkeypatch.setattr(
        training, "_train_task", lambda *a, **k: pytest.fail("trained before checking --out")
    )
    with pytest.raises(UserError):
        training.train(dataset, photos, training.TrainConfig(mode="instant", seed=1))
    assert (photos / "holiday.jpg").read_bytes() == b"jpeg"


# -------------------------------------------------------- 3: crash-safe replacement


def _run_crashing_save(folder: Path, setup: str) -> None:
    """Save into ``folder`` in another process that dies (``os._exit``) at a chosen step."""
    script = "\n".join(
        [
            "import os, numpy as np",
            "from engine.models import package as modelpack, package_swap",
            setup,
            f"modelpack.save_package({str(folder)!r}, manifest={MANIFEST!r}, tensors={{",
            "    'classifier.weight': np.full((2, 4), 0.75, np.float32),",
            "    'classifier.bias': np.zeros(2, np.float32)})",
            "raise SystemExit('the save was not interrupted')",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 9, done.stderr


def test_a_kill_between_the_two_renames_is_undone_at_the_next_load(tmp_path):
    path = save_package_at(tmp_path / "model", 0.5)
    _run_crashing_save(
        path,
        "package_swap.exchange = lambda a, b: False\n"
        "package_swap._between_renames = lambda: os._exit(9)",
    )
    assert not path.exists()  # the moment the old code left nothing behind, forever
    assert any(".old-" in name for name in staging_siblings(path))
    assert first_weight(path) == 0.5  # the next load puts the previous model back
    assert staging_siblings(path) == []


def test_a_kill_between_the_two_renames_is_undone_at_the_next_save(tmp_path):
    path = save_package_at(tmp_path / "model", 0.5)
    (path / "notes.txt").write_text("mine", encoding="utf-8")
    _run_crashing_save(
        path,
        "package_swap.exchange = lambda a, b: False\n"
        "package_swap._between_renames = lambda: os._exit(9)",
    )
    save_package_at(path, 0.25)
    assert first_weight(path) == 0.25
    assert (path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert staging_siblings(path) == []


def test_a_kill_after_an_atomic_exchange_leaves_the_new_model_and_no_leftovers(tmp_path):
    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.mkdir()
    probe_b.mkdir()
    if not package_swap.exchange(probe_a, probe_b):
        pytest.skip("this file system cannot exchange two names atomically")
    path = save_package_at(tmp_path / "model", 0.5)
    _run_crashing_save(path, "package_swap._after_exchange = lambda: os._exit(9)")
    assert first_weight(path) == 0.75
    assert staging_siblings(path) == []


def test_stale_staging_folders_are_removed_by_the_next_save_and_load(tmp_path):
    path = save_package_at(tmp_path / "model")
    for tag in ("tmp-dead0001", "tmp-dead0002"):
        stale = tmp_path / f".model.{tag}"
        stale.mkdir()
        (stale / "model.safetensors").write_bytes(b"half")
    load_package(path)
    assert staging_siblings(path) == []
    (tmp_path / ".model.tmp-dead0003").mkdir()
    save_package_at(path, 0.25)
    assert staging_siblings(path) == []


def test_a_failed_second_rename_restores_the_old_model_and_says_so_truly(tmp_path, monkeypatch):
    path = save_package_at(tmp_path / "model", 0.5)
    monkeypatch.setattr(package_swap, "exchange", lambda a, b: False)

    def disk_gone():
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(package_swap, "_between_renames", disk_gone)
    with pytest.raises(UserError) as raised:
        save_package_at(path, 0.25)
    assert "previous model is unchanged" in raised.value.message
    assert first_weight(path) == 0.5
    assert staging_siblings(path) == []


def test_concurrent_saves_all_succeed_and_leave_one_whole_package(tmp_path):
    target = tmp_path / "model"
    errors: list[BaseException] = []

    def writer(value: float) -> None:
        try:
            for _ in range(4):
                save_package_at(target, value)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(v,)) for v in (0.25, 0.5, 0.75)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert first_weight(target) in (0.25, 0.5, 0.75)
    assert staging_siblings(target) == []


# -------------------------------------------------------- 4: only a model that learned replaces one


def test_learned_nothing_tells_guessing_from_learning():
    rng = np.random.default_rng(0)
    y_true = np.repeat(np.arange(6), 10)
    uniform = np.full((60, 6), 1 / 6, np.float32) + rng.uniform(0, 1e-3, (60, 6)).astype(np.float32)
    guessing = Evaluation(list("abcdef"), [str(i) for i in range(60)], y_true, uniform)
    good = np.full((60, 6), 0.02, np.float32)
    good[np.arange(60), y_true] = 0.9
    learned = Evaluation(list("abcdef"), [str(i) for i in range(60)], y_true, good)
    assert guessing.learned_nothing() and not learned.learned_nothing()
    assert guessing.chance_accuracy() == pytest.approx(1 / 6)


def test_a_model_that_learned_nothing_does_not_replace_a_good_one(tmp_path):
    from engine.training import TrainConfig, train

    dataset = _text_dataset(tmp_path / "data")
    good = save_package_at(tmp_path / "model", 0.5)
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    with pytest.raises(UserError) as raised:
        train(dataset, good, TrainConfig(mode="instant", seed=1))
    assert "did not learn" in raised.value.message and "unchanged" in raised.value.message
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_a_model_that_learned_nothing_in_a_new_folder_is_saved_with_a_warning(tmp_path):
    from engine.training import TrainConfig, train

    result = train(
        _text_dataset(tmp_path / "data"), tmp_path / "new", TrainConfig(mode="instant", seed=1)
    )
    assert load_package(result.package).labels == ["x", "y", "z"]
    assert any("did not learn" in note for note in result.notes)


# -------------------------------------------------------- 7, 8: manifests and links


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m: m["preprocess"].__setitem__("size", 100000), "preprocess.size"),
        (lambda m: m["preprocess"].__setitem__("resize_shorter", -5), "preprocess.resize_shorter"),
        (lambda m: m["preprocess"].__setitem__("mean", [0.5, 0.5]), "preprocess.mean"),
        (lambda m: m["preprocess"].__setitem__("std", [0.0, 0.5, 0.5]), "preprocess.std"),
        (lambda m: m["preprocess"].__setitem__("ngram_range", [1, 400]), "ngram_range"),
        (lambda m: m["preprocess"].__setitem__("max_tokens", 10**9), "max_tokens"),
    ],
)
def test_out_of_range_manifest_numbers_are_damage(tmp_path, change, words):
    path = save_package_at(tmp_path / "model")
    edit_manifest(path, change, keep_digest=True)
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert "damaged" in raised.value.message and words in raised.value.details


def test_an_edited_manifest_fails_its_checksum_and_an_unsigned_one_still_loads(tmp_path, caplog):
    path = save_package_at(tmp_path / "model")
    edit_manifest(path, lambda m: m["metrics"].__setitem__("accuracy", 0.99))
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert "damaged" in raised.value.message and "checksum" in raised.value.details
    edit_manifest(path, lambda m: m.pop("manifest_sha256"))
    with caplog.at_level("INFO", logger="engine.models.manifest"):
        assert load_package(path).metrics["accuracy"] == 0.99
    assert "unsigned" in caplog.text


def test_a_deeply_nested_manifest_is_damage_not_a_crash(tmp_path):
    path = save_package_at(tmp_path / "model")
    (path / "taxon-model.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert "damaged" in raised.value.message


@pytest.mark.parametrize("outputs", [3, 1])
def test_labels_and_image_head_outputs_must_agree(tmp_path, outputs):
    from engine.models.image_package import check_head

    path = save_package(tmp_path / "model", manifest=MANIFEST, tensors=tensors(0.5, outputs))
    with pytest.raises(UserError) as raised:
        check_head(load_package(path))
    assert "damaged" in raised.value.message and "outputs" in raised.value.details


@pytest.mark.parametrize("rows", [3, 5])
def test_labels_and_instant_text_outputs_must_agree(tmp_path, rows):
    from engine.models.text_package import load_text_classifier

    manifest = {
        "name": "t",
        "task": "text",
        "kind": "text-instant",
        "labels": ["a", "b", "c", "d"],
        "preprocess": {"analyzer": "char_wb", "ngram_range": [1, 2]},
    }
    tensors = {
        "coef": np.zeros((rows, 3), np.float32),
        "intercept": np.zeros(rows, np.float32),
        "idf": np.ones(3, np.float32),
    }
    path = save_package(
        tmp_path / "model",
        manifest=manifest,
        tensors=tensors,
        extra_files={"vocabulary.json": b'["a", "b", "c"]'},
    )
    with pytest.raises(UserError) as raised:
        load_text_classifier(load_package(path))
    assert "damaged" in raised.value.message


def test_a_link_inside_a_package_gets_its_own_true_message(tmp_path):
    path = save_package_at(tmp_path / "model")
    (tmp_path / "elsewhere.txt").write_text("x", encoding="utf-8")
    os.symlink(tmp_path / "elsewhere.txt", path / "notes.txt")
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert "link" in raised.value.message and "run code" not in raised.value.message


# -------------------------------------------------------- 10: compact evaluations


def test_an_evaluation_of_many_classes_is_stored_compactly_with_the_same_metrics():
    rng = np.random.default_rng(0)
    classes, rows = 2000, 500
    logits = rng.normal(size=(rows, classes)).astype(np.float32)
    y_true = rng.integers(0, classes, rows)
    logits[np.arange(rows), y_true] += rng.uniform(0, 8, rows).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = [f"class {i}" for i in range(classes)]
    full = Evaluation(
        labels, [f"text {i}" for i in range(rows)], y_true, probs, row_ids=np.arange(rows)
    )
    text = json.dumps(full.to_json(), ensure_ascii=False)
    assert len(text.encode("utf-8")) < 2 * 1024 * 1024
    back = Evaluation.from_json(json.loads(text))
    assert back.summary() == full.summary()
    assert back.misclassified() == full.misclassified()
    assert (back.confusion() == full.confusion()).all()
    assert [b.count for b in back.reliability()] == [b.count for b in full.reliability()]
    again = Evaluation.from_json(json.loads(json.dumps(back.to_json())))
    assert again.summary() == full.summary()


@pytest.mark.slow
def test_learning_rate_zero_does_not_replace_a_trained_image_model(tmp_path):
    """The reported case: ``train --learning-rate 0`` into the folder of a good model."""
    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train
    from tests.helpers.digits import write_digits

    digits = load_dataset(
        str(write_digits(tmp_path / "digits", per_class=25, classes=(0, 1, 2, 3)))
    )
    fast = dict(mode="fast", epochs=10, seed=3, device="cpu")
    good = train(digits, tmp_path / "model", TrainConfig(**fast))
    assert good.notes == [] or not any("did not learn" in note for note in good.notes)
    before = (good.package / "model.safetensors").read_bytes()
    with pytest.raises(UserError) as raised:
        train(digits, good.package, TrainConfig(**fast, learning_rate=0.0), resume=False)
    assert "did not learn" in raised.value.message
    assert (good.package / "model.safetensors").read_bytes() == before


def test_an_unusual_class_count_is_said():
    from engine.training import class_count_notes

    assert class_count_notes([str(i) for i in range(1000)]) == []
    (note,) = class_count_notes([str(i) for i in range(5000)])
    assert "5,000 classes" in note
