"""Model packages: round trip, validation, refusal of pickles, atomic replacement."""

from __future__ import annotations

import errno
import json
import os
import pickle

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.models import package as modelpack
from engine.models.package import load_package, save_package

MANIFEST = {
    "name": "cats and dogs",
    "task": "image",
    "kind": "image-linear",
    "labels": ["cat", "dog"],
    "metrics": {"accuracy": 0.9},
}


def _tensors(value: float = 0.5):
    return {
        "classifier.weight": np.full((2, 4), value, np.float32),
        "classifier.bias": np.zeros(2, np.float32),
    }


def _save(folder, value: float = 0.5, **extra):
    return save_package(folder, manifest=MANIFEST, tensors=_tensors(value), card="# card", **extra)


def test_round_trip_keeps_labels_weights_and_metadata(tmp_path):
    path = _save(tmp_path / "model", extra_files={"notes.json": b"{}"})
    package = load_package(path)
    assert package.labels == ["cat", "dog"]
    assert package.task == "image" and package.name == "cats and dogs"
    assert package.metrics == {"accuracy": 0.9}
    assert package.manifest["format_version"] == modelpack.FORMAT_VERSION
    assert package.manifest["app_version"] and package.created_at
    tensors = package.tensors()
    assert tensors["classifier.weight"].numpy().tolist() == [[0.5] * 4] * 2
    assert (path / "MODEL_CARD.md").read_text(encoding="utf-8") == "# card"
    assert load_package(path / "taxon-model.json").path == package.path


@pytest.mark.parametrize(
    "name", ["pytorch_model.bin", "weights.pt", "head.pkl", "extra/model.ckpt"]
)
def test_a_planted_pickle_is_refused_and_never_opened(tmp_path, monkeypatch, name):
    path = _save(tmp_path / "model")
    planted = path / name
    planted.parent.mkdir(exist_ok=True)
    planted.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert os.path.basename(name) in raised.value.message
    assert "run code" in raised.value.message


def test_tampered_weights_are_reported_as_damage(tmp_path):
    path = _save(tmp_path / "model")
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert "damaged" in raised.value.message and "checksum" in raised.value.details


@pytest.mark.parametrize(
    "change, words",
    [
        ({"format_version": 99}, "newer version"),
        ({"labels": ["cat"]}, "damaged"),
        ({"labels": ["cat", "cat"]}, "damaged"),
        ({"task": "audio"}, "damaged"),
        ({"files": {"../../etc/passwd": "0" * 64, "model.safetensors": "0" * 64}}, "damaged"),
    ],
)
def test_bad_manifests_are_refused_with_a_reason(tmp_path, change, words):
    path = _save(tmp_path / "model")
    manifest = json.loads((path / "taxon-model.json").read_text(encoding="utf-8"))
    manifest.update(change)
    (path / "taxon-model.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_package(path)
    assert words in raised.value.message


def test_a_folder_without_a_manifest_is_not_a_model(tmp_path):
    with pytest.raises(UserError) as raised:
        load_package(tmp_path)
    assert "not a Taxon model" in raised.value.message


def test_non_finite_weights_are_never_saved_and_the_old_model_stays(tmp_path):
    path = _save(tmp_path / "model", 0.5)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises(UserError) as raised:
        _save(tmp_path / "model", float("nan"))
    assert "not finite" in raised.value.message
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_a_full_disk_while_saving_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    path = _save(tmp_path / "model", 0.5)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    real_fsync = os.fsync
    calls = []

    def full_disk(descriptor):
        calls.append(descriptor)
        if len(calls) == 2:  # fails in the middle of writing the new package
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(UserError) as raised:
        _save(tmp_path / "model", 0.25)
    assert "previous model is unchanged" in raised.value.message
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging folder left
    assert load_package(path).tensors()["classifier.weight"].numpy()[0, 0] == 0.5


def test_saving_over_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(UserError):
        _save(tmp_path / "photos")
    assert (tmp_path / "photos" / "holiday.jpg").read_bytes() == b"jpeg"


def test_a_new_package_replaces_the_old_one_completely(tmp_path):
    _save(tmp_path / "model", 0.5, extra_files={"old.json": b"{}"})
    path = _save(tmp_path / "model", 0.75)
    assert not (path / "old.json").exists()
    assert load_package(path).tensors()["classifier.weight"].numpy()[0, 0] == 0.75


def test_a_one_file_package_round_trips_and_loads_like_the_folder(tmp_path):
    from engine.models.package import write_archive

    folder = _save(tmp_path / "model")
    archive = write_archive(folder, tmp_path / "shared")
    assert archive.name == "shared.taxon-model" and archive.is_file()
    package = load_package(archive)
    assert package.labels == ["cat", "dog"] and package.path != folder
    assert package.tensors()["classifier.weight"].numpy()[0, 0] == 0.5
    assert load_package(archive).path == package.path  # unpacked once per content


@pytest.mark.parametrize("name", ["../evil.json", "/etc/passwd", "weights.pkl", "a/../../b.json"])
def test_hostile_one_file_packages_are_refused_before_anything_is_written(tmp_path, name):
    import zipfile

    archive = tmp_path / "hostile.taxon-model"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("taxon-model.json", "{}")
        handle.writestr(name, b"payload")
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert "not a readable Taxon model file" in raised.value.message
    assert not (tmp_path / "evil.json").exists()
