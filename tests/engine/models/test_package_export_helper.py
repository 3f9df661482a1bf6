"""A trained image package's first ONNX export runs in a helper process, off the window's.

Loaded on a worker thread (as the window does), the export is made by the helper of
``image_runner``: this process neither builds nor exports the network, and the cached
export classifies like PyTorch within the parity tolerance.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import threading

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.data.dataset_io import load_dataset
from engine.data.images import decode_for_model
from engine.models import image_package, loading
from engine.models.backbones import image_runner
from engine.models.backbones import onnx_runtime as rt
from engine.models.package import load_package
from engine.training import TrainConfig, train
from tests.helpers.digits import write_digits

for _module in ("onnxruntime", "onnx", "torch", "timm", "sklearn"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny fast-mode package (a head on the built-in backbone) and a few of its images."""
    root = tmp_path_factory.mktemp("trained")
    folder = write_digits(root / "digits", per_class=6, classes=(0, 1, 2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAXON_HOME", str(root / "home"))
        config = TrainConfig(mode="fast", epochs=3, seed=1, device="cpu")
        result = train(load_dataset(str(folder)), root / "model", config)
    images = sorted(folder.rglob("*.png"))[::4]
    return result.package, images


def _load_on_a_worker_thread(path):
    """``loading.load_classifier`` on a thread that is not the main one, as the window does."""
    outcome: dict = {}

    def work():
        try:
            outcome["classifier"] = loading.load_classifier(path)
        except BaseException as error:  # noqa: BLE001 - re-raised below, on the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="taxon-test-worker")
    thread.start()
    thread.join(300)
    assert not thread.is_alive(), "loading hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["classifier"]


@pytest.mark.slow
def test_the_first_export_of_a_trained_package_is_made_in_a_helper(trained, tmp_path, monkeypatch):
    path, images = trained
    package = load_package(path)
    monkeypatch.setenv("TAXON_HOME", str(tmp_path / "fresh"))
    monkeypatch.delenv(rt.BACKEND_ENV, raising=False)
    helper_answers, built_here, exported_here = [], [], []
    real_helper = image_runner._export_in_helper

    def helper_spy(*args, **kwargs):
        helper_answers.append(real_helper(*args, **kwargs))
        return helper_answers[-1]

    monkeypatch.setattr(image_runner, "_export_in_helper", helper_spy)
    # Patched in this process only: the helper runs the real ones.
    monkeypatch.setattr(image_package, "build_network", lambda *a: built_here.append(a))
    monkeypatch.setattr(rt, "export_verified", lambda *a, **k: exported_here.append(a))

    classifier = _load_on_a_worker_thread(path)
    try:
        assert helper_answers == [True]
        assert not built_here and not exported_here
        assert classifier.backend == "onnxruntime"
        assert classifier.labels == package.labels == ["0", "1", "2"]
        (onnx,) = (tmp_path / "fresh" / "cache" / "onnx").glob("*.onnx")
        sidecar = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
        assert sidecar["parity_ok"] is True
        assert sidecar["weights_sha256"] == package.weights_sha256
        assert sidecar["labels"] == package.labels

        monkeypatch.undo()  # the PyTorch reference builds the network here, for real
        reference = loading.load_classifier(path, backend="torch")
        try:
            assert reference.backend == "pytorch"
            samples = image_runner.parity_samples()
            exported, expected = classifier.runner(samples), reference.runner(samples)
            assert (exported.argmax(1) == expected.argmax(1)).all()
            assert np.abs(exported - expected).max() < rt.PARITY_TOLERANCE
            pixels = np.stack([decode_for_model(image).pixels for image in images])
            probs, reference_probs = (
                classifier.predict_batch(pixels),
                reference.predict_batch(pixels),
            )
            assert (probs.argmax(1) == reference_probs.argmax(1)).all()
            assert np.abs(probs - reference_probs).max() < rt.PARITY_TOLERANCE
        finally:
            reference.close()
    finally:
        classifier.close()


def test_the_loader_hands_the_runner_a_picklable_builder_that_revalidates(tmp_path, monkeypatch):
    from engine.models.backbones import efficientnet_lite0 as lite0
    from tests.helpers.packages import MANIFEST, save_package_at

    folder = tmp_path / "model"
    backbone = {"backbone": {"weights_sha256": lite0.weights_sha256()}}
    save_package_at(folder, manifest={**MANIFEST, **backbone})
    package = load_package(folder)
    handed = {}

    def capture(name, weights_sha256, build_model, metadata, *args, **kwargs):
        handed.update(build_model=build_model, metadata=metadata)
        raise RuntimeError("captured")

    monkeypatch.setattr(image_runner, "load_image_runner", capture)
    with pytest.raises(RuntimeError, match="captured"):
        image_package.load_package_classifier(package)
    # What ``_export_in_helper`` sends to the helper process survives pickling.
    build, metadata = pickle.loads(pickle.dumps((handed["build_model"], handed["metadata"])))
    assert build.func is image_package.build_saved_network
    assert build.args[:3] == (str(package.path), package.kind, package.weights_sha256)
    assert metadata == {"labels": package.labels}
    # Not the package the caller opened (other weights, other kind): refused, never built.
    with pytest.raises(UserError):
        image_package.build_saved_network(str(folder), package.kind, "0" * 64)
    with pytest.raises(UserError):
        image_package.build_saved_network(str(folder), "image-finetuned", package.weights_sha256)
    # A weights file changed on disk fails the package's checksum in the helper too.
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(UserError):
        build()
