"""Text trainers: instant (character n-grams), fast (e5 features + head), fine-tune.

- **Instant**: TF-IDF over character n-grams within word boundaries, so it works
  for any script, including Chinese and Japanese, which have no spaces; a
  logistic-loss linear model fitted epoch by epoch with ``SGDClassifier``
  (progress, cancel, early stopping on validation loss). Seconds on 100k rows.
  Saved as arrays (safetensors) plus the vocabulary as JSON: no pickle.
- **Fast**: mean-pooled multilingual-e5-small vectors (cached per text), then a
  linear head (``engine.training.head``). Because e5 maps many languages into one
  space, a head trained on English examples classifies Spanish or Arabic too.
- **Fine-tune**: ``AutoModelForSequenceClassification`` from the e5 folder (or a
  local folder), dynamic padding, length-bucketed batches, mixed precision on
  CUDA, through the shared loop (charts, cancel, resume, OOM back-off, DDP).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.i18n import N_, Message, _, format_number
from engine.core.jobs import UserError
from engine.models.text_package import linear_probabilities
from engine.training.config import TrainEvent
from engine.training.data import class_weights
from engine.training.finetune import Network, finetune
from engine.training.loop import LoopOutcome
from engine.training.run import Trained, TrainRun

if TYPE_CHECKING:
    from engine.models.backbones.local_folder import LocalModel

log = logging.getLogger(__name__)

KIND_INSTANT, KIND_LINEAR, KIND_FINETUNED = "text-instant", "text-linear", "text-finetuned"
MSG_INSTANT = N_("Learning character patterns: epoch {epoch} of {epochs}")
MSG_TOKENIZING = N_("Preparing the texts…")
MSG_NOT_FOR_TEXT = N_("This training mode is not available for text.")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
    "vocab.txt",
    "spm.model",
    "merges.txt",
    "vocab.json",
)
MAX_TOKENS = 256


def text_backbone(folder: Path, local: LocalModel | None) -> dict[str, Any]:
    """What the manifest says about ``folder``: e5, or the local folder ``local`` describes."""
    from engine.models.backbones import e5

    try:
        return {"id": e5.model_id(folder), "name": "multilingual-e5-small", "kind": "e5"}
    except UserError:
        if local is None:
            from engine.models.backbones.local_folder import inspect_folder

            local = inspect_folder(folder, "text")
        return {
            "id": local.id,
            "name": local.name,
            "kind": "local",
            "path": str(folder),
            "weights_sha256": local.weights_sha256,
        }


def query_prefix(backbone: dict[str, Any]) -> str:
    """e5 was trained on "query: "-prefixed texts; other encoders take them as they are."""
    return "query: " if backbone["kind"] == "e5" else ""


def backbone_folder(run: TrainRun) -> Path:
    """The local folder ``train`` inspected, else the built-in e5 (converted on first use)."""
    if run.local is not None:
        return run.local.path
    from engine.models.backbones.e5 import e5_folder

    return e5_folder(run.progress, run.cancel)


# --------------------------------------------------------------------------- instant


def vectorizer(n_rows: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 4),
        min_df=2 if n_rows > 2000 else 1,
        max_features=300_000,
        sublinear_tf=True,
        lowercase=True,
        dtype=np.float32,
    )


def _log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)).mean())


def train_instant(run: TrainRun) -> Trained:
    from sklearn.linear_model import SGDClassifier

    prepared, config, progress, cancel = run.prepared, run.config, run.progress, run.cancel
    epochs = config.epochs
    progress(0, epochs, _(MSG_TOKENIZING))
    run.emit(TrainEvent("status", note=Message(MSG_TOKENIZING)))  # the UI translates it again
    vec = vectorizer(len(prepared.train_items))
    train_x = vec.fit_transform(prepared.train_items)
    cancel.raise_if_cancelled()
    val_x = vec.transform(prepared.val_items)
    classes = np.arange(len(prepared.labels))
    weights = class_weights(prepared.train_y, len(classes)) if config.class_weighting else None
    model = SGDClassifier(
        loss="log_loss",
        alpha=1e-6 * max(1.0, 2e4 / max(1, train_x.shape[0])),
        random_state=config.seed,
        average=True,
        class_weight=None if weights is None else dict(enumerate(weights.tolist())),
    )
    rng = np.random.default_rng(config.seed)
    sample = rng.permutation(train_x.shape[0])[:5000]
    history, best, best_probs, best_loss, bad = [], None, None, math.inf, 0
    for epoch in range(1, epochs + 1):
        cancel.raise_if_cancelled()
        order = rng.permutation(train_x.shape[0])
        model.partial_fit(train_x[order], prepared.train_y[order], classes=classes)
        train_probs = linear_probabilities(
            model.decision_function(train_x[sample]).reshape(len(sample), -1)
        )
        val_probs = linear_probabilities(model.decision_function(val_x).reshape(val_x.shape[0], -1))
        record = {
            "epoch": epoch,
            "loss": _log_loss(train_probs, prepared.train_y[sample]),
            "accuracy": float((train_probs.argmax(1) == prepared.train_y[sample]).mean()),
            "val_loss": _log_loss(val_probs, prepared.val_y),
            "val_accuracy": float((val_probs.argmax(1) == prepared.val_y).mean()),
            "batch_size": int(train_x.shape[0]),
        }
        history.append(record)
        if record["val_loss"] < best_loss - 1e-6:
            best_loss, bad, best_probs = record["val_loss"], 0, val_probs
            best = (
                model.coef_.astype(np.float32).copy(),
                model.intercept_.astype(np.float32).copy(),
                epoch,
            )
        else:
            bad += 1
        progress(
            epoch,
            epochs,
            _(MSG_INSTANT).format(epoch=format_number(epoch), epochs=format_number(epochs)),
        )
        run.emit(
            TrainEvent(
                "epoch",
                epoch=epoch,
                epochs=epochs,
                loss=record["loss"],
                accuracy=record["accuracy"],
                val_loss=record["val_loss"],
                val_accuracy=record["val_accuracy"],
                best_epoch=best[2],
            )
        )
        if bad >= config.patience:
            break
    coef, intercept, best_epoch = best
    terms = [""] * len(vec.vocabulary_)
    for term, index in vec.vocabulary_.items():
        terms[index] = term
    tensors = {"coef": coef, "intercept": intercept, "idf": vec.idf_.astype(np.float32)}
    files = {"vocabulary.json": json.dumps(terms, ensure_ascii=False).encode("utf-8")}
    preprocess = {
        "analyzer": "char_wb",
        "ngram_range": [1, 4],
        "lowercase": True,
        "sublinear_tf": True,
        "norm": "l2",
        "probabilities": "one-vs-rest",
    }
    outcome = LoopOutcome({}, best_epoch, best_probs, history, batch_size=int(train_x.shape[0]))
    return Trained(
        prepared,
        outcome,
        tensors,
        KIND_INSTANT,
        {"id": "char-ngrams", "name": "TF-IDF"},
        preprocess,
        files,
    )


# --------------------------------------------------------------------------- fine-tune


class TokenBatches:
    """Dynamic padding and length buckets: similar lengths share a batch, so little padding."""

    def __init__(
        self, ids: dict[str, list[list[int]]], labels: dict[str, np.ndarray], pad_id: int, seed: int
    ) -> None:
        self.ids, self.labels, self.pad_id, self.seed = ids, labels, pad_id, seed

    def __call__(self, split: str, order: list[int], batch_size: int, epoch: int):
        import torch

        ids = self.ids[split]
        if split == "train":  # buckets of 50 batches sorted by length, then shuffled batches
            window = batch_size * 50
            chunks = [
                sorted(order[i : i + window], key=lambda k: len(ids[k]))
                for i in range(0, len(order), window)
            ]
            batches = [
                chunk[i : i + batch_size]
                for chunk in chunks
                for i in range(0, len(chunk), batch_size)
            ]
            rng = np.random.default_rng(self.seed * 7919 + epoch)
            batches = [batches[i] for i in rng.permutation(len(batches))]
        else:
            batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for rows in batches:
            width = max(len(ids[k]) for k in rows)
            tokens = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, k in enumerate(rows):
                tokens[r, : len(ids[k])] = ids[k]
                mask[r, : len(ids[k])] = 1
            yield (
                {"input_ids": torch.from_numpy(tokens), "attention_mask": torch.from_numpy(mask)},
                torch.from_numpy(self.labels[split][rows]),
            )


class _Logits:
    """Wraps a transformers classifier so the loop sees ``model(batch) -> logits``."""

    def __new__(cls, model):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, batch):
                return self.model(**batch).logits

        return Wrapped()


def _to_device(batch, device):
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def load_sequence_classifier(folder: Path, num_labels: int):
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    # "newly initialised head" is expected, not a warning for users
    hf_logging.set_verbosity_error()
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            folder,
            num_labels=num_labels,
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=False,
        )
    finally:
        hf_logging.set_verbosity(verbosity)


def _tokenizer_of(folder: Path):
    """(texts -> token ids, padding id) for ``folder``: through the helper process where it
    can (building the tokenizer here would freeze the window for about a second), else
    transformers' ``AutoTokenizer``."""
    from engine.models.tokenizer_process import helper_tokenizer

    helper = helper_tokenizer(folder)
    if helper is not None:
        return (lambda texts: helper.encode(texts, MAX_TOKENS)), helper.pad_id
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]

    return encode, int(tokenizer.pad_token_id or 0)


def train_finetune(run: TrainRun, folder: Path) -> Trained:
    """The encoder in ``folder`` with a sequence-classification head of the run's classes."""
    prepared, config = run.prepared, run.config
    run.progress(0, None, _(MSG_TOKENIZING))
    run.emit(TrainEvent("status", note=Message(MSG_TOKENIZING)))
    encode, pad_id = _tokenizer_of(folder)
    backbone = text_backbone(folder, run.local)
    prefix = query_prefix(backbone)
    ids = {
        split: encode([prefix + t for t in items])
        for split, items in (("train", prepared.train_items), ("validation", prepared.val_items))
    }
    run.cancel.raise_if_cancelled()

    def build() -> Network:
        network = load_sequence_classifier(folder, len(prepared.labels))
        network.config.id2label = dict(enumerate(prepared.labels))
        network.config.label2id = {label: i for i, label in enumerate(prepared.labels)}
        model = _Logits(network)
        files = {"config.json": network.config.to_json_string().encode("utf-8")}
        for name in TOKENIZER_FILES:
            if (folder / name).is_file():
                files[name] = (folder / name).read_bytes()
        batches = TokenBatches(
            ids,
            {"train": prepared.train_y, "validation": prepared.val_y},
            pad_id,
            config.seed,
        )
        return Network(
            model,
            [p for p in model.parameters() if p.requires_grad],
            batches,
            state_prefix="model.",
            files=files,
            to_device=_to_device,
        )

    return finetune(
        run,
        build,
        kind=KIND_FINETUNED,
        backbone=backbone,
        preprocess={"prefix": prefix, "max_tokens": MAX_TOKENS},
    )


# --------------------------------------------------------------------------- dispatch


def train_text(run: TrainRun) -> Trained:
    """Instant, fast or fine-tune, on the built-in e5 or the local folder ``train`` inspected."""
    mode = run.config.mode
    if mode == "instant":
        return train_instant(run)
    folder = backbone_folder(run)
    if mode == "fast":
        from engine.models.text_features import text_features
        from engine.training.head import train_head

        prepared = run.prepared
        features = text_features(
            prepared.train_items + prepared.val_items,
            run.progress,
            run.cancel,
            folder=folder,
            device=run.config.device,
        )
        n = len(prepared.train_items)
        outcome, tensors = train_head(run, features[:n], features[n:])
        backbone = text_backbone(folder, run.local)
        return Trained(
            prepared,
            outcome,
            tensors,
            KIND_LINEAR,
            backbone,
            {"prefix": query_prefix(backbone), "pooling": "mean", "normalize": True},
        )
    if mode == "finetune":
        return train_finetune(run, folder)
    raise UserError(MSG_NOT_FOR_TEXT, details=mode)
