"""What the About box and ``--version`` tell: the version and every bundled licence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata

from engine import __version__
from engine.core.paths import resources_dir


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    license: str
    kind: str  # "model" or "library"


def app_version() -> str:
    return __version__


def _installed_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "—"


def bundled_components() -> list[Component]:
    """Models and libraries Taxon ships, with their licences (resources/licenses.json)."""
    data = json.loads((resources_dir() / "licenses.json").read_text(encoding="utf-8"))
    components = [
        Component(item["name"], _installed_version(item["source"]), item["license"], "model")
        for item in data["models"]
    ]
    components += [
        Component(item["name"], _installed_version(item["package"]), item["license"], "library")
        for item in data["libraries"]
    ]
    return components
