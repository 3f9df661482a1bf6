"""scikit-learn's real handwritten digits as image files in class folders (a dataset users know)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_digits(
    folder: Path,
    per_class: int | None = None,
    size: int = 32,
    classes: tuple[int, ...] = tuple(range(10)),
    offset: int = 0,
) -> Path:
    """``folder/<digit>/<n>.png``: the 8x8 scans scaled up (ink dark on white, as on paper)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts: dict[int, int] = {}
    for image, target in zip(digits.images, digits.target, strict=True):
        target = int(target)
        if target not in classes:
            continue
        seen = counts.get(target, 0)
        counts[target] = seen + 1
        if seen < offset or (per_class is not None and seen >= offset + per_class):
            continue
        pixels = (255 - image / 16.0 * 255).astype(np.uint8)
        out = folder / str(target)
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, "L").resize((size, size), Image.Resampling.BICUBIC).save(
            out / f"{seen:04d}.png"
        )
    return folder
