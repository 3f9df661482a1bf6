"""What the Evaluate page needs from a model package, as plain jobs (no Qt here).

Opening a package checks every file's hash and parses its saved evaluation,
which takes a moment for a big model, so both run on a ``JobWorker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.evaluation import Evaluation, evaluate_classifier
from engine.jobs import CancelToken, Progress


@dataclass
class OpenedModel:
    """A validated package and the validation evaluation saved with it (None if none)."""

    path: Path
    name: str
    task: str
    labels: list[str]
    created_at: str
    validation: Evaluation | None

    @property
    def key(self) -> str:
        return str(self.path)


def open_model(path: str | Path, progress: Progress, cancel: CancelToken) -> OpenedModel:
    from engine.modelpack import load_package

    progress(0, None, "")
    package = load_package(path)
    cancel.raise_if_cancelled()
    return OpenedModel(package.path, package.name, package.task, package.labels,
                       package.created_at, package.evaluation())


def load_model_classifier(path: Path, progress: Progress, cancel: CancelToken):
    """The package as a ``Classifier`` (through the engine's loader)."""
    from engine.inference import load_classifier

    return load_classifier(str(path), progress=progress, cancel=cancel)


def evaluate_model(path: Path, dataset, progress: Progress, cancel: CancelToken) -> Evaluation:
    classifier = load_model_classifier(path, progress, cancel)
    try:
        return evaluate_classifier(classifier, dataset, progress, cancel)
    finally:
        classifier.close()
