"""Text models as a folder: ``model.onnx``, ``tokenizer.json``, ``labels.json``, README.

Fast (encoder + head) and fine-tuned models export with their whole recipe in
the graph: token ids and attention mask in, probabilities out (mean pooling,
normalisation and the head, or the sequence classifier, then softmax). The
``tokenizer.json`` is the model's own with truncation and padding switched on,
so ``Tokenizer.from_file(...).encode_batch`` gives the graph's inputs directly.
The parity check runs exactly that: ``tokenizers`` plus a bare ONNX Runtime.

Instant models (character n-grams within word boundaries + a linear model)
are refused: skl2onnx, the converter for scikit-learn models, raises
``NotImplementedError`` for ``analyzer='char_wb'`` (and its word and char
tokenisers need a system locale that ONNX Runtime often cannot construct), so
no converter reproduces them exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.deploy import networks, parity
from engine.deploy.onnx_image import common_metadata, export_bytes, with_metadata
from engine.deploy.readme import ReadmeFacts, render
from engine.deploy.result import MSG_CHECKING, MSG_CONVERTING, MSG_PREPARING, ExportResult
from engine.deploy.source import Source, reference_classifier, text_samples
from engine.deploy.target import folder_target, write_into

MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, README_FILE = (
    "model.onnx",
    "tokenizer.json",
    "labels.json",
    "README.md",
)
MSG_INSTANT = N_(
    "The instant text model “{name}” cannot be exported as {format}: it reads "
    "character n-grams within words, which no converter reproduces exactly "
    "(skl2onnx does not support them). Train the model in fast or fine-tune mode "
    "to export it."
)
MSG_NO_TOKENIZER = N_(
    "The text model “{name}” has no fast tokenizer (tokenizer.json), so it cannot be exported."
)


def refuse_instant(source: Source, fmt: str) -> None:
    """Raise the translated refusal for models no exporter reproduces exactly."""
    if source.kind == "text-instant":
        raise UserError(
            MSG_INSTANT,
            details="skl2onnx: analyzer='char_wb' is not implemented",
            name=source.name,
            format=fmt,
        )


def export_text_onnx(
    source: Source,
    out: str | os.PathLike[str],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Write a fast or fine-tuned text model as an ONNX folder, parity-checked first."""
    cancel = cancel or CancelToken()
    refuse_instant(source, "ONNX")
    with folder_target(out, source.location) as stage:
        prepared = prepare_text_export(source, stage, progress, cancel)
        texts, prefix, max_tokens = prepared.texts, prepared.prefix, prepared.max_tokens
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
        payload = export_bytes(
            prepared.module,
            {"input_ids": prepared.ids, "attention_mask": prepared.mask},
            ["probabilities"],
            axes,
        )
        metadata = {**common_metadata(source), "prefix": prefix, "max_tokens": str(max_tokens)}
        write_into(stage, MODEL_FILE, with_metadata(payload, metadata))
        cancel.raise_if_cancelled()
        progress(0, None, _(MSG_CHECKING))
        exported = onnx_probabilities(stage / MODEL_FILE, stage / TOKENIZER_FILE, prefix, texts)
        checked = parity.compare(prepared.reference, exported)
        facts = ReadmeFacts(
            "onnx",
            "text",
            source.name,
            source.model_id,
            source.labels,
            MODEL_FILE,
            source.preprocess,
            prefix,
            max_tokens,
        )
        write_into(stage, README_FILE, render(facts).encode("utf-8"))
        names = sorted(path.name for path in stage.iterdir())
    output = folder_output(out)
    return ExportResult(output, "onnx", [output / name for name in names], checked.to_json())


@dataclass
class PreparedText:
    """What both text exports (ONNX, TorchScript) start from: samples, Taxon's answers,
    the network, its tokenizer (already written with the labels) and an example batch."""

    texts: list[str]
    reference: np.ndarray
    module: Any
    tokenizer: Any
    prefix: str
    max_tokens: int
    ids: np.ndarray
    mask: np.ndarray


def prepare_text_export(
    source: Source, stage, progress: Progress, cancel: CancelToken
) -> PreparedText:
    """Samples and reference answers, the network and ``tokenizer.json``/``labels.json``
    written into ``stage``: the part of a text export that does not depend on the format."""
    progress(0, None, _(MSG_PREPARING))
    texts = text_samples(source)
    reference = text_reference(source, texts, progress, cancel)
    module, hf_tokenizer, prefix, max_tokens = networks.text_module(source)
    tokenizer = export_tokenizer(source, hf_tokenizer, max_tokens)
    write_into(stage, TOKENIZER_FILE, tokenizer.to_str().encode("utf-8"))
    write_into(stage, LABELS_FILE, labels_json(source))
    cancel.raise_if_cancelled()
    progress(0, None, _(MSG_CONVERTING))
    ids, mask = encode(tokenizer, prefix, texts[:2])
    return PreparedText(texts, reference, module, tokenizer, prefix, max_tokens, ids, mask)


def folder_output(out: str | os.PathLike[str]):
    from pathlib import Path

    return Path(os.path.abspath(out))


def text_reference(
    source: Source, texts: list[str], progress: Progress, cancel: CancelToken
) -> np.ndarray:
    """Taxon's own probabilities for ``texts``."""
    classifier = reference_classifier(source, progress, cancel)
    try:
        return classifier.predict_texts(texts, cancel=cancel)
    finally:
        classifier.close()


def labels_json(source: Source) -> bytes:
    return json.dumps(source.labels, ensure_ascii=False, indent=1).encode("utf-8")


def export_tokenizer(source: Source, hf_tokenizer: Any, max_tokens: int):
    """A copy of the model's ``tokenizers.Tokenizer`` that truncates and pads like Taxon."""
    from tokenizers import Tokenizer

    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise UserError(MSG_NO_TOKENIZER, details=type(hf_tokenizer).__name__, name=source.name)
    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.enable_truncation(max_length=int(max_tokens))
    pad_id = hf_tokenizer.pad_token_id
    pad_token = hf_tokenizer.pad_token
    tokenizer.enable_padding(pad_id=int(pad_id or 0), pad_token=str(pad_token or "[PAD]"))
    return tokenizer


def encode(tokenizer: Any, prefix: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) int64 arrays, as the README's example makes them."""
    encodings = tokenizer.encode_batch([prefix + text for text in texts])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


def onnx_probabilities(model_path, tokenizer_path, prefix: str, texts: list[str]) -> np.ndarray:
    """The exported folder's answers, computed as a user's script would."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    batches = []
    for start in range(0, len(texts), 16):
        ids, mask = encode(tokenizer, prefix, texts[start : start + 16])
        batches.append({"input_ids": ids, "attention_mask": mask})
    return parity.run_onnx(str(model_path), batches)
