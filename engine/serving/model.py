"""The model a service serves: the classifier plus what ``GET /v1/model`` tells clients."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.jobs import CancelToken, Progress
from engine.models.contract import Classifier
from engine.models.loading import load_classifier

#: What to type for the built-in ImageNet model instead of a package path.
BUILTIN = "builtin"


@dataclass
class ServedModel:
    """A loaded classifier with its package's name, labels and validation metrics."""

    classifier: Classifier
    name: str
    task: str
    labels: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    source: str = BUILTIN

    @classmethod
    def from_classifier(
        cls, classifier: Classifier, metrics: dict[str, Any] | None = None, source: str = ""
    ) -> ServedModel:
        """Wrap a classifier the caller already loaded (the window's current model)."""
        return cls(
            classifier,
            classifier.name,
            classifier.task,
            list(classifier.labels),
            dict(metrics or {}),
            source or classifier.name,
        )

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "labels": self.labels,
            "metrics": self.metrics,
            "backend": getattr(self.classifier, "backend", ""),
        }


def is_builtin(model: str | os.PathLike[str] | None) -> bool:
    """``None`` or the word ``builtin`` (unless a folder of that name is really there)."""
    return model is None or (str(model) == BUILTIN and not Path(BUILTIN).exists())


def load_served_model(
    model: str | os.PathLike[str] | None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> ServedModel:
    """The built-in model or a package folder / ``.taxon-model`` file, validated and loaded once.

    Raises ``UserError`` (a package that is missing, damaged or holds a pickle).
    """
    if is_builtin(model):
        classifier = load_classifier(None, progress, cancel)
        return ServedModel.from_classifier(classifier, source=BUILTIN)
    from engine.models.package import load_package

    assert model is not None
    package = load_package(model)  # a .taxon-model is unpacked once, into the cache
    classifier = load_classifier(package.path, progress, cancel)
    return ServedModel(
        classifier, package.name, package.task, package.labels, package.metrics, os.fspath(model)
    )
