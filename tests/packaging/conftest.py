"""Shared by the packaging tests: the repository root and the build-time bundle module."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Set by `.ci/run` and `make package-test` after `make package`: run the slow tests that
#: need the built bundle and install the .deb.
PACKAGE_TEST_ENV = "TAXON_PACKAGE_TEST"


def load_bundle_module():
    """``packaging/taxon_bundle.py`` (``packaging/`` is no Python package: it would shadow
    the ``packaging`` distribution)."""
    spec = importlib.util.spec_from_file_location("taxon_bundle", ROOT / "packaging" / "taxon_bundle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bundle_module():
    return load_bundle_module()


def package_tests_enabled() -> bool:
    return os.environ.get(PACKAGE_TEST_ENV, "") not in ("", "0")
