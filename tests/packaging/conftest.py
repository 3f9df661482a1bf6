"""Fixtures for the packaging tests: the build-time bundle module."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.helpers.bundle import ROOT


def load_bundle_module():
    """``packaging/taxon_bundle.py`` (``packaging/`` is no Python package: it would shadow
    the ``packaging`` distribution)."""
    spec = importlib.util.spec_from_file_location(
        "taxon_bundle", ROOT / "packaging" / "taxon_bundle.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bundle_module():
    return load_bundle_module()
