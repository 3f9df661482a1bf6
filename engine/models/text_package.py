"""Text model packages as classifiers, with the words that pushed each decision.

``TextClassifier.predict_texts(texts) -> probabilities`` for the three kinds:
``text-instant`` (TF-IDF char n-grams rebuilt from the saved vocabulary and idf,
no pickle), ``text-linear`` (encoder vectors + head) and ``text-finetuned``
(a sequence classifier rebuilt from its saved config, weights from safetensors).

``explain(text)`` splits the text into words (single characters for scripts
without spaces), removes each in turn and measures how much the predicted
class's probability falls: occlusion. For the instant model that is exactly the
linear weights of the n-grams the word brings; for transformers it is the
model's own sensitivity. Positive weight = pushed towards the answer.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.models.contract import Classifier

if TYPE_CHECKING:
    from engine.models.package import ModelPackage

MSG_WRONG_KIND = N_("The model “{name}” is of a kind this version of Taxon cannot use.")
MAX_EXPLAINED_SEGMENTS = 64
#: Scripts written without spaces: each character is its own segment.
_NO_SPACES = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u1780-\u17ff]"
)
_WORD = re.compile(r"\w+(?:['’-]\w+)*", re.UNICODE)


def linear_probabilities(scores: np.ndarray) -> np.ndarray:
    """Probabilities of a one-vs-rest logistic model (as scikit-learn computes them)."""
    from scipy.special import expit

    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.stack([1.0 - positive, positive], axis=1).astype(np.float32)
    probs = expit(scores)
    return (probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass
class Segment:
    start: int
    end: int
    weight: float = 0.0


def segments(text: str) -> list[Segment]:
    """Words, and single characters of Chinese, Japanese, Thai, Khmer."""
    out: list[Segment] = []
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        if _NO_SPACES.search(word):
            run = start
            for offset, char in enumerate(word):
                if _NO_SPACES.match(char):
                    if run < start + offset:
                        out.append(Segment(run, start + offset))
                    out.append(Segment(start + offset, start + offset + 1))
                    run = start + offset + 1
            if run < match.end():
                out.append(Segment(run, match.end()))
        else:
            out.append(Segment(start, match.end()))
    return out


class TextClassifier(Classifier):
    task = "text"
    backend = "pytorch"
    batch_size = 32

    def __init__(self, name: str, labels: list[str], predict) -> None:
        self.name, self.labels = name, list(labels)
        self._predict = predict
        self._lock = threading.Lock()

    def predict_texts(
        self, texts: list[str], progress: Progress = no_progress, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """(len(texts), len(labels)) probabilities."""
        cancel = cancel or CancelToken()
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), 256):
            cancel.raise_if_cancelled()
            with self._lock:
                out[start : start + 256] = self._predict(list(texts[start : start + 256]))
            progress(min(len(texts), start + 256), len(texts), "")
        return out

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        raise TypeError("a text model classifies texts, not pixels")

    def explain(self, text: str) -> list[Segment]:
        """Each segment's push towards the predicted class (occlusion, see the module doc)."""
        parts = segments(text)
        if not parts:
            return parts
        shown = parts[:MAX_EXPLAINED_SEGMENTS]
        variants = [text] + [text[: s.start] + text[s.end :] for s in shown]
        probs = self.predict_texts(variants)
        predicted = int(probs[0].argmax())
        for part, row in zip(shown, probs[1:], strict=True):
            part.weight = float(probs[0, predicted] - row[predicted])
        return parts


# --------------------------------------------------------------------------- kinds


def _instant(package: ModelPackage):
    from scipy import sparse  # noqa: F401 - scikit-learn's vectorizer needs it
    from sklearn.feature_extraction.text import TfidfVectorizer

    tensors = {k: v.numpy() for k, v in package.tensors().items()}
    terms = _vocabulary(package)
    _check_instant(package, tensors, len(terms))
    settings = package.manifest.get("preprocess") or {}
    vec = TfidfVectorizer(
        analyzer=settings.get("analyzer", "char_wb"),
        ngram_range=tuple(settings.get("ngram_range", (1, 4))),
        lowercase=bool(settings.get("lowercase", True)),
        sublinear_tf=bool(settings.get("sublinear_tf", True)),
        vocabulary={term: i for i, term in enumerate(terms)},
        dtype=np.float32,
    )
    vec.idf_ = tensors["idf"]
    coef, intercept = tensors["coef"], tensors["intercept"]

    def predict(texts: list[str]) -> np.ndarray:
        scores = vec.transform(texts) @ coef.T + intercept
        return linear_probabilities(np.asarray(scores).reshape(len(texts), -1))

    return predict


def _vocabulary(package: ModelPackage) -> list[str]:
    try:
        terms = json.loads((package.path / "vocabulary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise package.damaged(f"vocabulary.json: {type(error).__name__}: {error}") from error
    if (
        not isinstance(terms, list)
        or not all(isinstance(term, str) for term in terms)
        or len(set(terms)) != len(terms)
    ):
        raise package.damaged("vocabulary.json must be a list of distinct strings")
    return terms


def _check_instant(package: ModelPackage, tensors: dict[str, np.ndarray], terms: int) -> None:
    """Weights, idf and vocabulary must agree, and there must be one output per label
    (a two-class model has one, as scikit-learn stores it)."""
    for key in ("coef", "intercept", "idf"):
        if key not in tensors:
            raise package.damaged(f"{key} is missing from the weights")
    classes = len(package.labels)
    outputs = 1 if classes == 2 else classes
    package.check_outputs(tensors["coef"].shape, outputs, "coef")
    package.check_outputs(tensors["intercept"].shape, outputs, "intercept")
    if (
        tensors["coef"].ndim != 2
        or tensors["coef"].shape[1] != terms
        or tensors["idf"].shape != (terms,)
    ):
        raise package.damaged(
            f"coef {tensors['coef'].shape}, idf {tensors['idf'].shape} and "
            f"{terms} vocabulary terms disagree"
        )


def text_head(package: ModelPackage, tensors: dict) -> tuple:
    """``classifier.weight`` and ``classifier.bias``, one output row per label."""
    for key in ("classifier.weight", "classifier.bias"):
        if key not in tensors:
            raise package.damaged(f"{key} is missing from the weights")
        package.check_outputs(tuple(tensors[key].shape), len(package.labels), key)
    return tensors["classifier.weight"], tensors["classifier.bias"]


def encoder_folder(package: ModelPackage):
    from pathlib import Path

    backbone = package.manifest.get("backbone") or {}
    if backbone.get("kind") == "local":
        from engine.models.backbones.local_folder import inspect_folder

        folder = inspect_folder(backbone["path"], "text")
        if folder.id != backbone.get("id"):
            raise UserError(
                N_(
                    "The model “{name}” needs the model folder “{path}”, which has "
                    "changed since it was trained."
                ),
                name=package.name,
                path=backbone["path"],
            )
        return Path(folder.path)
    from engine.models.backbones import e5

    folder = e5.e5_folder()
    if e5.model_id(folder) != backbone.get("id"):
        raise UserError(
            N_(
                "The model “{name}” was trained on a different version of the built-in "
                "text model, so it cannot be used with this version of Taxon."
            ),
            name=package.name,
        )
    return folder


def _linear(package: ModelPackage, device: str):
    import torch

    from engine.models.text_features import _encoder

    weight, bias = text_head(package, package.tensors())
    encoder = _encoder(encoder_folder(package), device, no_progress, CancelToken())

    def predict(texts: list[str]) -> np.ndarray:
        vectors = torch.from_numpy(encoder.encode(texts))
        return torch.softmax(vectors @ weight.T + bias, dim=1).numpy()

    return predict


def _finetuned(package: ModelPackage, device: str):
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from engine.models.text_features import _torch_device
    from engine.models.tokenizer_process import helper_tokenizer

    try:
        config = AutoConfig.from_pretrained(
            package.path, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError, RecursionError) as error:
        raise package.damaged(f"config.json: {type(error).__name__}: {error}") from error
    if getattr(config, "num_labels", None) != len(package.labels):
        raise package.damaged(
            f"config.json has {getattr(config, 'num_labels', None)} outputs "
            f"for {len(package.labels)} labels"
        )
    check_shapes_first(package, config)
    model = AutoModelForSequenceClassification.from_config(config)
    try:
        model.load_state_dict(package.tensors(), strict=True)
    except RuntimeError as error:
        raise package.damaged(str(error)) from error
    target = torch.device(_torch_device(device))
    model = model.to(target).eval()
    # In the helper process where it can: building a 17 MB tokenizer here holds the GIL
    # for about a second and freezes the window (engine.models.tokenizer_process).
    helper = helper_tokenizer(package.path)
    tokenizer = (
        AutoTokenizer.from_pretrained(package.path, local_files_only=True)
        if helper is None
        else None
    )
    settings = package.manifest.get("preprocess") or {}
    prefix, limit = settings.get("prefix", ""), int(settings.get("max_tokens", 256))

    def predict(texts: list[str]) -> np.ndarray:
        texts = [prefix + t for t in texts]
        if helper is not None:
            batch = padded_batch(helper.encode(texts, limit), helper.pad_id)
        else:
            batch = tokenizer(
                texts, truncation=True, max_length=limit, padding=True, return_tensors="pt"
            )
        with torch.inference_mode():
            logits = model(**{key: value.to(target) for key, value in batch.items()}).logits
            return torch.softmax(logits.float(), dim=1).cpu().numpy()

    return predict


def padded_batch(ids: list[list[int]], pad_id: int) -> dict:
    """Token ids padded on the right to the longest, with the attention mask, as
    ``AutoTokenizer(..., padding=True, return_tensors="pt")`` gives them."""
    import torch

    longest = max((len(row) for row in ids), default=0)
    input_ids = torch.full((len(ids), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for row, tokens in enumerate(ids):
        input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def check_shapes_first(package: ModelPackage, config) -> None:
    """Build the network without memory (the ``meta`` device) and compare it with the
    weights file's header, so a ``config.json`` edited to giant sizes is refused before
    anything is allocated."""
    import torch
    from transformers import AutoModelForSequenceClassification

    try:
        with torch.device("meta"):
            skeleton = AutoModelForSequenceClassification.from_config(config)
    except Exception as error:  # an impossible config
        raise package.damaged(f"config.json: {type(error).__name__}: {error}") from error
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    stored = package.tensor_shapes()
    wrong = sorted(
        key for key in expected.keys() | stored.keys() if expected.get(key) != stored.get(key)
    )
    if wrong:
        raise package.damaged(f"config.json and the weights disagree on {wrong[:5]}")


def load_text_classifier(
    package: ModelPackage,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    device: str = "auto",
) -> TextClassifier:
    progress = progress or no_progress
    progress(0, None, "")
    builders = {
        "text-instant": lambda: _instant(package),
        "text-linear": lambda: _linear(package, device),
        "text-finetuned": lambda: _finetuned(package, device),
    }
    if package.kind not in builders:
        raise UserError(MSG_WRONG_KIND, details=f"kind={package.kind!r}", name=package.name)
    return TextClassifier(package.name, package.labels, builders[package.kind]())
