"""Classifying images: ONNX export and cache, PyTorch fallback, the classify job."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.core import workers
from engine.core.i18n import _
from engine.core.jobs import Cancelled, CancelToken
from engine.data.images import MSG_CORRUPT, MSG_EMPTY, decode_for_model
from engine.models import contract, inference, loading
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.models.backbones import onnx_runtime as rt
from engine.models.backbones.image_runner import parity_samples

# Checked without importing: decode workers import this module (for
# crash_on_name), and importing torch there would cost seconds per worker.
for _module in ("onnxruntime", "torch", "timm", "sklearn"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = (
    Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets/images"
)
FLOWER, CHINA = SAMPLES / "flower.jpg", SAMPLES / "china.jpg"
CHINA_TOP5 = {"palace", "monastery", "bell cote", "pagoda", "castle", "church", "dome"}


@pytest.fixture(scope="session")
def onnx_home(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-home")


@pytest.fixture(scope="session")
def builtin(onnx_home):
    """The ONNX Runtime classifier, exported once for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAXON_HOME", str(onnx_home))
        patch.delenv(rt.BACKEND_ENV, raising=False)
        classifier = loading.load_builtin_classifier(backend="onnx")
    yield classifier
    classifier.close()


@pytest.fixture(scope="session")
def torch_classifier():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(rt.BACKEND_ENV, "torch")
        classifier = loading.load_builtin_classifier()
    yield classifier
    classifier.close()


@pytest.fixture(scope="module")
def pool():
    decode_pool = workers.DecodePool(2)
    yield decode_pool
    decode_pool.close()


@pytest.fixture()
def home(onnx_home, monkeypatch):
    monkeypatch.setenv("TAXON_HOME", str(onnx_home))
    monkeypatch.delenv(rt.BACKEND_ENV, raising=False)
    return onnx_home


def onnx_file(onnx_home: Path) -> Path:
    (path,) = (onnx_home / "cache" / "onnx").glob("*.onnx")
    return path


# ------------------------------------------------------------------ the models


def test_export_matches_pytorch_on_real_photos(builtin, torch_classifier):
    assert builtin.backend == "onnxruntime"
    assert torch_classifier.backend == "pytorch"
    samples = parity_samples()
    assert samples.dtype == np.uint8 and samples.shape[1:] == (224, 224, 3) and len(samples) == 4
    exported = builtin.runner(samples)
    reference = torch_classifier.runner(samples)
    assert (exported.argmax(1) == reference.argmax(1)).all()
    assert np.abs(exported - reference).max() < 1e-3
    assert builtin.labels == torch_classifier.labels == lite0.class_names()


def test_the_cached_export_is_reused_without_exporting_again(builtin, home, monkeypatch):
    path = onnx_file(home)
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["parity_ok"] is True and sidecar["weights_sha256"] == lite0.weights_sha256()
    mtime = path.stat().st_mtime_ns
    calls = []
    monkeypatch.setattr(rt, "export_verified", lambda *a, **k: calls.append(a))
    again = loading.load_builtin_classifier()
    assert again.backend == "onnxruntime" and not calls
    assert path.stat().st_mtime_ns == mtime


def test_a_cached_export_loads_without_importing_torch(builtin, onnx_home):
    code = (
        "import sys\n"
        "from engine.models.loading import load_builtin_classifier\n"
        "c = load_builtin_classifier()\n"
        "assert c.backend == 'onnxruntime', c.backend\n"
        "assert 'torch' not in sys.modules and 'timm' not in sys.modules\n"
    )
    env = {**os.environ, "TAXON_HOME": str(onnx_home)}
    env.pop(rt.BACKEND_ENV, None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_pytorch_is_used_when_onnxruntime_is_missing(home, monkeypatch):
    monkeypatch.setattr(rt, "onnxruntime_available", lambda: False)
    assert loading.load_builtin_classifier().backend == "pytorch"
    with pytest.raises(inference.UserError):
        loading.load_builtin_classifier(backend="onnx")


def test_a_failed_parity_check_deletes_the_export_and_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    monkeypatch.setattr(rt, "_parity_problem", lambda *a: "forced for the test")
    classifier = loading.load_builtin_classifier()
    assert classifier.backend == "pytorch"
    folder = tmp_path / "cache" / "onnx"
    assert not list(folder.glob("*.onnx"))
    (sidecar,) = folder.glob("*.json")
    assert json.loads(sidecar.read_text(encoding="utf-8"))["parity_ok"] is False
    # Recorded: the next start goes straight to PyTorch instead of exporting again.
    monkeypatch.setattr(rt, "export_verified", lambda *a, **k: pytest.fail("exported again"))
    assert loading.load_builtin_classifier().backend == "pytorch"


def test_an_exporter_error_falls_back_to_pytorch(tmp_path, monkeypatch):
    def broken(*args):
        raise RuntimeError("exporter exploded")

    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    monkeypatch.setattr(rt, "_export_bytes", broken)
    assert loading.load_builtin_classifier().backend == "pytorch"
    (sidecar,) = (tmp_path / "cache" / "onnx").glob("*.json")
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    assert record["parity_ok"] is False and "exporter exploded" in record["parity_problem"]


def test_predict_batch_and_top_k(builtin):
    pixels = np.stack([decode_for_model(FLOWER).pixels, decode_for_model(CHINA).pixels])
    probabilities = builtin.predict_batch(pixels)
    assert probabilities.shape == (2, 1000)
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-4)
    flower, china = builtin.top_k(probabilities, 5)
    assert flower[0].label == "daisy" and len(flower) == 5
    assert [p.score for p in flower] == sorted((p.score for p in flower), reverse=True)
    assert {p.label for p in china} & CHINA_TOP5


# ------------------------------------------------------------------ the job


@pytest.fixture()
def mixed_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(FLOWER, folder / "a_flower.jpg")
    shutil.copy(CHINA, folder / "b_china.jpg")
    (folder / "c_corrupt.jpg").write_bytes(FLOWER.read_bytes()[:600])
    (folder / "d_empty.jpg").write_bytes(b"")
    (folder / "e_notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def test_a_folder_with_bad_files_reports_each_and_classifies_the_rest(builtin, mixed_folder, pool):
    streamed, reports = [], []
    results = inference.classify_images(
        builtin, [mixed_folder], 5, lambda *r: reports.append(r), None, streamed.append, pool=pool
    )
    names = [Path(r.input).name for r in results]
    assert names == ["a_flower.jpg", "b_china.jpg", "c_corrupt.jpg", "d_empty.jpg"]
    flower, china, corrupt, empty = results
    assert flower.error is None and flower.predictions[0].label == "daisy"
    assert {p.label for p in china.predictions} & CHINA_TOP5
    assert flower.thumbnail_jpeg.startswith(b"\xff\xd8")
    assert (flower.width, flower.height) == (640, 427)
    assert corrupt.error == _(MSG_CORRUPT).format(name="c_corrupt.jpg") and not corrupt.predictions
    assert empty.error == _(MSG_EMPTY).format(name="d_empty.jpg") and not empty.predictions
    assert sorted(r.input for r in streamed) == sorted(r.input for r in results)
    assert reports[-1][:2] == (4, 4)
    assert corrupt.to_json() == {"input": corrupt.input, "error": corrupt.error}
    assert flower.to_json()["predictions"][0]["label"] == "daisy"


def test_results_stream_before_the_last_batch_is_computed(builtin, tmp_path, pool):
    files = []
    for index in range(12):
        files.append(tmp_path / f"{index:02d}.jpg")
        shutil.copy(FLOWER if index % 2 else CHINA, files[-1])
    events = []
    slow = SpyClassifier(builtin, batch_size=4, events=events)
    results = inference.classify_images(slow, files, 3, on_result=lambda r: events.append("result"),
                                        pool=pool)  # fmt: skip
    assert len(results) == 12 and events.count("result") == 12 and events.count("batch") >= 3
    assert events.index("result") < len(events) - 1 - events[::-1].index("batch")


def test_one_image_is_decoded_in_process_without_starting_workers(builtin):
    fresh = workers.DecodePool(1)
    (result,) = inference.classify_images(builtin, [FLOWER], 3, pool=fresh)
    assert result.predictions[0].label == "daisy"
    assert not fresh.started


def test_the_pool_is_kept_between_calls(builtin, pool, tmp_path):
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(FLOWER, tmp_path / name)
    inference.classify_images(builtin, [tmp_path], pool=pool)
    executor = pool.executor()
    inference.classify_images(builtin, [tmp_path], pool=pool)
    assert pool.executor() is executor


def test_cancel_takes_effect_at_the_next_batch(builtin, tmp_path, pool):
    for index in range(200):
        shutil.copy(FLOWER, tmp_path / f"{index:03d}.jpg")
    cancel, batches, batches_at_cancel = CancelToken(), [], []
    slow = SpyClassifier(builtin, batch_size=4, events=batches, delay=0.05)

    def on_result(result):
        if not batches_at_cancel:
            threading.Timer(
                0.3, lambda: (batches_at_cancel.append(len(batches)), cancel.cancel())
            ).start()

    with pytest.raises(Cancelled):
        inference.classify_images(slow, [tmp_path], cancel=cancel, on_result=on_result, pool=pool)
    # Counted in batches, not seconds (a loaded shared machine stretches every second): the
    # batch running when the user cancels may end, and then nothing more of the 50 is run.
    assert batches_at_cancel and len(batches) - batches_at_cancel[0] <= 1, (
        batches_at_cancel,
        len(batches),
    )
    # The pool recovers for the next job.
    assert len(inference.classify_images(builtin, [FLOWER, CHINA], pool=pool)) == 2


def test_a_crashing_decoder_fails_only_its_file(builtin, tmp_path, monkeypatch):
    # First in line, so the others are still queued when the worker dies and
    # must be retried one by one to find the culprit.
    files = []
    for index in range(7):
        name = "crash.jpg" if index == 0 else f"{index}.jpg"
        files.append(tmp_path / name)
        shutil.copy(FLOWER, files[-1])
    monkeypatch.setattr(inference, "decode_for_model", crash_on_name)
    crash_pool = workers.DecodePool(2)
    try:
        results = inference.classify_images(builtin, files, pool=crash_pool)
    finally:
        crash_pool.close()
    assert [Path(r.input).name for r in results] == [f.name for f in files]
    for result in results:
        if result.input.endswith("crash.jpg"):
            assert result.error == _(inference.MSG_DECODER_CRASHED).format(name="crash.jpg")
        else:
            assert result.error is None and result.predictions[0].label == "daisy"


def crash_on_name(path, size=224, resize_shorter=256):
    """Stands in for a native decoder crash: the worker process dies."""
    if Path(path).name == "crash.jpg":
        os._exit(3)
    return decode_for_model(path, size, resize_shorter)


class SpyClassifier(contract.Classifier):
    """Wraps a classifier to log batches, shrink them, or slow them down."""

    def __init__(self, inner, batch_size, events=None, delay=0.0):
        self.inner, self.events, self.delay = inner, events, delay
        self.name, self.labels, self.preprocess = inner.name, inner.labels, inner.preprocess
        self.batch_size = batch_size

    def predict_batch(self, pixels):
        if self.events is not None:
            self.events.append("batch")
        time.sleep(self.delay)
        return self.inner.predict_batch(pixels)


def test_a_damaged_cached_export_falls_back_and_is_rebuilt_later(builtin, onnx_home, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    source = onnx_file(onnx_home)
    folder = tmp_path / "cache" / "onnx"
    folder.mkdir(parents=True)
    shutil.copy(source.with_suffix(".json"), folder / source.with_suffix(".json").name)
    (folder / source.name).write_bytes(b"not an onnx model")
    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    monkeypatch.delenv(rt.BACKEND_ENV, raising=False)
    assert loading.load_builtin_classifier().backend == "pytorch"
    assert not (folder / source.name).exists()
    assert rt.find_cached(lite0.BACKBONE_ID, lite0.weights_sha256()) is None  # export next time


def test_results_stream_in_input_order_whatever_order_the_workers_finish():
    from engine.models.contract import ItemResult
    from engine.models.inference import _Tracker

    seen = []
    tracker = _Tracker(lambda *_: None, lambda result: seen.append(result.input), keep=False)
    for index in (2, 0, 3, 1):
        tracker.emit(index, ItemResult(f"file{index}"))
        assert seen == [f"file{i}" for i in range(len(seen))]
    assert seen == ["file0", "file1", "file2", "file3"]
    tracker.emit(5, ItemResult("file5"))  # 4 never came (a cancel): flushed, not lost
    tracker.flush()
    assert seen[-1] == "file5"
