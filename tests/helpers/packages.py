"""A small valid image package, and ways to damage it, for the package-safety tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.models import package as modelpack
from engine.models.package import load_package, save_package

MANIFEST = {
    "name": "cats and dogs",
    "task": "image",
    "kind": "image-linear",
    "labels": ["cat", "dog"],
    "metrics": {"accuracy": 0.9},
    "preprocess": {"size": 224, "resize_shorter": 256, "mean": [0.5] * 3, "std": [0.5] * 3},
}


def tensors(value: float = 0.5, outputs: int = 2):
    return {
        "classifier.weight": np.full((outputs, 4), value, np.float32),
        "classifier.bias": np.zeros(outputs, np.float32),
    }


def save_package_at(folder, value: float = 0.5, manifest=None, **extra):
    return save_package(
        folder, manifest=manifest or MANIFEST, tensors=tensors(value), card="# card", **extra
    )


def first_weight(path) -> float:
    return float(load_package(path).tensors()["classifier.weight"].numpy()[0, 0])


def staging_siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def edit_manifest(path: Path, change, keep_digest: bool = False) -> None:
    manifest = json.loads((path / "taxon-model.json").read_text(encoding="utf-8"))
    change(manifest)
    if keep_digest:
        manifest["manifest_sha256"] = modelpack.manifest_digest(manifest)
    (path / "taxon-model.json").write_text(json.dumps(manifest), encoding="utf-8")
