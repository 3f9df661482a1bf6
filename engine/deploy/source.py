"""What is being exported: the built-in model or a package, as one ``Source``.

An export must behave like Taxon's own classifier, so everything it needs is
read from the same places the classifier reads: the package's manifest for
labels and preprocessing, the same network builders, and the package's
validation items (``evaluation.json``) as parity samples. Samples that no
longer exist on disk (the dataset moved) are replaced by synthetic ones, so an
export never depends on the user keeping their data where it was.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.jobs import CancelToken, Progress, UserError, no_progress

log = logging.getLogger(__name__)

#: ``export builtin``: the built-in ImageNet model instead of a package.
BUILTIN = "builtin"
#: At most this many validation items are compared (enough to catch a wrong export,
#: few enough that a big model checks in seconds).
MAX_SAMPLES = 32
#: Texts used when a text package has no readable validation texts.
FALLBACK_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "¿Dónde está la biblioteca más cercana?",
    "我们明天早上去北京。",
    "This is great, I love it!",
    "Terrible service, never again.",
    "x",
)


@dataclass
class Source:
    """A model to export: its identity, labels, preprocessing and, for packages, the package."""

    task: str  # "image" or "text"
    kind: str  # the package kind, or "builtin"
    name: str
    model_id: str
    labels: list[str]
    preprocess: dict[str, Any] = field(default_factory=dict)
    package: Any = None  # engine.models.package.ModelPackage, None for the built-in model
    location: Path | None = None  # what the user named (never written into)

    @property
    def is_builtin(self) -> bool:
        return self.package is None


def load_source(model: str | os.PathLike[str]) -> Source:
    """The built-in model (``"builtin"``) or a validated package folder / ``.taxon-model``."""
    if os.fspath(model) == BUILTIN:
        from engine.models.backbones import efficientnet_lite0 as lite0

        return Source(
            "image",
            BUILTIN,
            lite0.DISPLAY_NAME,
            lite0.BACKBONE_ID,
            lite0.class_names(),
            lite0.preprocess_config(),
        )
    from engine.models.package import load_package

    package = load_package(model)
    preprocess = dict(package.manifest.get("preprocess") or {})
    if package.task == "image" and "size" not in preprocess:
        from engine.models.backbones import efficientnet_lite0 as lite0

        preprocess = lite0.preprocess_config()
    model_id = str(package.manifest.get("id") or package.weights_sha256[:16])
    return Source(
        package.task,
        package.kind,
        package.name,
        model_id,
        package.labels,
        preprocess,
        package,
        Path(package.source or package.path),
    )


def reference_classifier(
    source: Source, progress: Progress = no_progress, cancel: CancelToken | None = None
):
    """Taxon's own classifier for ``source``: what ``classify`` would answer."""
    from engine.models.loading import load_classifier

    return load_classifier(None if source.is_builtin else source.package.path, progress, cancel)


# --------------------------------------------------------------------------- parity samples


def image_samples(source: Source) -> np.ndarray:
    """uint8 (N, S, S, 3) model input: the package's validation images, decoded exactly as
    ``classify`` decodes them, else synthetic photos, a gradient and noise."""
    from engine.data.images import decode_for_model

    size, shorter = int(source.preprocess["size"]), int(source.preprocess["resize_shorter"])
    pixels = []
    for item in _validation_items(source):
        try:
            pixels.append(decode_for_model(item, size, shorter).pixels)
        except Exception:  # noqa: BLE001 - a moved or unreadable file: use the others
            log.debug("Skipping parity sample %s", item, exc_info=True)
    if len(pixels) < 4:
        pixels.extend(_synthetic_images(size))
    return np.stack(pixels[:MAX_SAMPLES])


def _synthetic_images(size: int) -> list[np.ndarray]:
    from PIL import Image

    from engine.models.backbones.image_runner import parity_samples

    out = []
    for image in parity_samples():
        resized = Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)
        out.append(np.asarray(resized, dtype=np.uint8))
    return out


def text_samples(source: Source) -> list[str]:
    """The package's validation texts (at most ``MAX_SAMPLES``), else a few fixed ones."""
    texts = [item for item in _validation_items(source) if item.strip()]
    return texts[:MAX_SAMPLES] if len(texts) >= 4 else list(FALLBACK_TEXTS)


def _validation_items(source: Source) -> list[str]:
    if source.package is None:
        return []
    try:
        evaluation = source.package.evaluation()
    except UserError:
        return []
    if evaluation is None:
        return []
    items = list(evaluation.items)
    # Spread over the classes: the first rows are often one class.
    order = np.argsort(evaluation.y_true, kind="stable") if len(items) > MAX_SAMPLES else None
    if order is not None:
        step = max(1, len(items) // MAX_SAMPLES)
        items = [items[i] for i in order[::step]]
    return items
