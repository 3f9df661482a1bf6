"""What the Evaluate page needs from a model package, as plain jobs (no Qt here).

Opening a package checks every file's hash and parses its saved evaluation,
which takes a moment for a big model, so both run on a ``JobWorker``. An opened
package goes into the model library, so it is offered again after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.core.jobs import CancelToken, Progress
from engine.models.evaluation import Evaluation, evaluate_classifier
from engine.models.library import ModelLibrary, register


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
    from engine.models.package import load_package

    progress(0, None, "")
    package = load_package(path)
    cancel.raise_if_cancelled()
    entry = register(package)  # a .taxon-model file is known by its file, not the cache
    where = Path(package.source or package.path).resolve()
    return OpenedModel(
        where,
        entry.name if entry else package.name,
        package.task,
        package.labels,
        package.created_at,
        package.evaluation(),
    )


def with_library(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``choices`` (path, name), then every other model in the library that is still on
    disk, newest first; a model renamed in the library shows its new name everywhere."""
    entries = [entry for entry in ModelLibrary().entries() if not entry.missing]
    names = {entry.path: entry.name for entry in entries}
    merged = [(path, names.get(path, name)) for path, name in choices]
    listed = {path for path, _name in merged}
    return merged + [(entry.path, entry.name) for entry in entries if entry.path not in listed]


def load_model_classifier(path: Path, progress: Progress, cancel: CancelToken):
    """The package as a ``Classifier`` (through the engine's loader)."""
    from engine.models.loading import load_classifier

    return load_classifier(str(path), progress=progress, cancel=cancel)


def evaluate_model(path: Path, dataset, progress: Progress, cancel: CancelToken) -> Evaluation:
    classifier = load_model_classifier(path, progress, cancel)
    try:
        return evaluate_classifier(classifier, dataset, progress, cancel)
    finally:
        classifier.close()
