"""Which languages a text model was trained on, read from its package.

Cross-lingual use is a headline feature (train on English examples, classify
Chinese), so the window states the training mix beside the languages of the
user's texts. Training records the mix in the manifest (``data.languages``);
for packages made before that, the validation texts saved in ``evaluation.json``
are a fair sample of the same data and are detected again here.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainingLanguages:
    """The model's kind and how many training texts were in each language."""

    kind: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def training_languages(folder: str | os.PathLike[str]) -> TrainingLanguages:
    """The language mix of a text package's training data; empty when unknown.

    Reads only the manifest (size-capped and validated, but without hashing the
    weights, which a model the caller already loaded has passed); the fallback
    loads the package's evaluation. Slow on that path (language detection):
    call it on a worker thread. Anything unreadable gives an empty mix.
    """
    from engine.core.jobs import UserError
    from engine.data.languages import detect_languages, fold_language
    from engine.models.manifest import MANIFEST_NAME, read_manifest
    from engine.models.package import load_package

    folder = Path(folder)
    try:
        manifest = read_manifest(folder, folder / MANIFEST_NAME)
    except UserError:
        return TrainingLanguages()
    kind = str(manifest.get("kind") or "")
    recorded = (manifest.get("data") or {}).get("languages")
    if isinstance(recorded, dict):
        counts = Counter(
            {
                fold_language(str(code)): int(n)
                for code, n in recorded.items()
                if isinstance(n, int) and n > 0
            }
        )
    else:
        try:
            evaluation = load_package(folder).evaluation()
        except UserError:
            return TrainingLanguages(kind)
        texts = [str(item) for item in (evaluation.items if evaluation is not None else [])]
        counts = Counter(fold_language(code) for code in detect_languages(texts))
    counts.pop("", None)
    return TrainingLanguages(kind, dict(counts.most_common()))
