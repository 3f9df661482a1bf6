"""scikit-learn's two sample photos (china.jpg, flower.jpg), found without importing it.

They are real camera photos that every install already has, so exports check
their parity on them and the self-test classifies them; importing scikit-learn
just to find two files would cost a second at start-up.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def sample_photo_paths() -> list[Path]:
    """The sample JPEGs in name order; empty when scikit-learn is not installed."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        photos = sorted((Path(folder) / "datasets" / "images").glob("*.jpg"))
        if photos:
            return photos
    return []
