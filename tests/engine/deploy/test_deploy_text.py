"""Text models exported as a folder (model, tokenizer.json, labels.json, README) answer like
Taxon with only ``tokenizers`` and ONNX Runtime; the instant model is refused with its reason,
and a refused or failed export leaves no folder behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.deploy import export_model, parity
from engine.deploy.onnx_text import MSG_INSTANT
from engine.deploy.torchscript import MSG_NOT_TRACEABLE
from tests.helpers import deploy_models as dm

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
tokenizers = pytest.importorskip("tokenizers")
#: Every test here uses the packages fixture, which trains a fast and a fine-tuned text model.
pytestmark = pytest.mark.slow

FOLDER_FILES = ["README.md", "labels.json", "model.onnx", "tokenizer.json"]


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("deploy-text")
    topics = dm.topics_dataset(base / "topics")
    bert = dm.tiny_text_backbone(base / "tiny-bert")
    return {
        "text-instant": dm.train_package(topics, base / "instant", mode="instant"),
        "text-linear": dm.train_package(
            topics, base / "fast", mode="fast", epochs=10, backbone=str(bert)
        ),
        "text-finetuned": dm.train_package(
            topics, base / "ft", mode="finetune", epochs=1, batch_size=8, backbone=str(bert)
        ),
    }


def _taxon(package: Path, texts: list[str]) -> np.ndarray:
    from engine.models.loading import load_classifier

    classifier = load_classifier(package)
    try:
        return classifier.predict_texts(texts)
    finally:
        classifier.close()


def _encode(folder: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    prefix = (
        ort.InferenceSession(str(folder / "model.onnx"))
        .get_modelmeta()
        .custom_metadata_map["prefix"]
        if (folder / "model.onnx").exists()
        else ""
    )
    encodings = tokenizer.encode_batch([prefix + text for text in texts])
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    return (
        np.array([e.ids for e in encodings], dtype=np.int64),
        np.array([e.attention_mask for e in encodings], dtype=np.int64),
        labels,
    )


@pytest.mark.parametrize("kind", ["text-linear", "text-finetuned"])
def test_fast_and_fine_tuned_text_export_to_an_onnx_folder_that_answers_like_taxon(
    packages, kind, tmp_path
):
    result = export_model(packages[kind], tmp_path / "export", "onnx")
    assert result.output == tmp_path / "export"
    assert sorted(path.name for path in result.output.iterdir()) == FOLDER_FILES
    assert result.parity["max_difference"] <= 1e-4

    texts = dm.NEW_TEXTS + ["a much longer text about the football match and the dinner " * 3]
    ids, mask, labels = _encode(result.output, texts)
    assert labels == ["food", "sport"]
    session = ort.InferenceSession(
        str(result.output / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    exported = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    reference = _taxon(packages[kind], texts)
    assert (exported.argmax(1) == reference.argmax(1)).all()
    np.testing.assert_allclose(exported, reference, atol=1e-4)
    readme = (result.output / "README.md").read_text(encoding="utf-8")
    assert "`input_ids`" in readme and "tokenizers" in readme and "```python" in readme


def test_fine_tuned_text_exports_as_torchscript(packages, tmp_path):
    package = packages["text-finetuned"]
    result = export_model(package, tmp_path / "ts", "torchscript")
    assert sorted(p.name for p in result.output.iterdir()) == [
        "README.md",
        "labels.json",
        "model.pt",
        "tokenizer.json",
    ]
    ids, mask, labels = _encode(result.output, dm.NEW_TEXTS)
    model = torch.jit.load(str(result.output / "model.pt"))
    with torch.no_grad():
        exported = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert (exported.argmax(1) == _taxon(package, dm.NEW_TEXTS).argmax(1)).all()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_instant_model_is_refused_with_its_reason_and_nothing_is_written(
    packages, fmt, tmp_path
):
    with pytest.raises(UserError) as caught:
        export_model(packages["text-instant"], tmp_path / "out", fmt)
    assert caught.value.msgid == MSG_INSTANT
    assert "n-grams" in caught.value.message and "fast or fine-tune" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_fast_text_model_is_not_offered_as_torchscript(packages, tmp_path):
    with pytest.raises(UserError) as caught:
        export_model(packages["text-linear"], tmp_path / "out", "torchscript")
    assert caught.value.msgid == MSG_NOT_TRACEABLE and "ONNX" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_files_in_it_is_refused_and_left_alone(packages, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UserError):
        export_model(packages["text-linear"], out, "onnx")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with pytest.raises(UserError):  # nor inside the package itself
        export_model(packages["text-linear"], packages["text-linear"] / "onnx", "onnx")
    assert not (packages["text-linear"] / "onnx").exists()


def test_a_tampered_text_export_is_refused_and_leaves_no_folder(packages, tmp_path, monkeypatch):
    from engine.deploy import networks

    real = networks.text_module

    def tampered(source):
        module, *rest = real(source)
        with torch.no_grad():
            module.head.bias.add_(torch.tensor([4.0, -4.0]))
        return (module, *rest)

    monkeypatch.setattr(networks, "text_module", tampered)
    with pytest.raises(UserError) as caught:
        export_model(packages["text-linear"], tmp_path / "out", "onnx")
    assert caught.value.msgid == parity.MSG_MISMATCH
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its staging copy
