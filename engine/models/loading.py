"""Opening any model by path: the one place that knows every model kind.

It sits at the top of ``engine.models`` and dispatches to the built-in backbone,
image packages, text packages and ensembles; none of those import it back
(an ensemble is handed this loader for its members).
"""

from __future__ import annotations

import os

from engine.core.jobs import CancelToken, Progress
from engine.models.contract import Classifier


def load_builtin_classifier(
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> Classifier:
    """The built-in ImageNet classifier (see ``engine.models.backbones.efficientnet_lite0``).

    ``backend`` is "auto" (ONNX Runtime, else PyTorch), "onnx" or "torch";
    without it ``TAXON_INFERENCE_BACKEND`` decides. The first call exports and
    caches the ONNX model (a few seconds); later ones load in ~0.1 s.
    """
    from engine.models.backbones.efficientnet_lite0 import load_classifier as load_lite0
    from engine.models.class_names import DOMAIN

    classifier = load_lite0(progress, cancel, backend)
    classifier.label_domain = DOMAIN
    return classifier


def load_classifier(
    model: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    backend: str | None = None,
) -> Classifier:
    """The built-in model (``model`` None) or a trained model package, validated first.

    Image packages take the same ONNX Runtime path as the built-in model.
    """
    if model is None:
        return load_builtin_classifier(progress, cancel, backend)
    from engine.models.package import load_package

    package = load_package(model)
    if package.kind == "ensemble":  # members' probabilities, averaged (engine.models.ensemble)
        from engine.models.ensemble_models import load_ensemble_classifier

        return load_ensemble_classifier(package, load_classifier, progress, cancel, backend)
    if package.task == "image":
        from engine.models.image_package import load_package_classifier

        return load_package_classifier(package, progress, cancel, backend)
    from engine.models.text_package import load_text_classifier

    return load_text_classifier(package, progress, cancel)
