"""Shared by the packaging tests: where the repository is and whether the slow ones run."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Set by `.ci/run` and `make package-test` after `make package`: run the slow tests that
#: need the built bundle and install the .deb.
PACKAGE_TEST_ENV = "TAXON_PACKAGE_TEST"


def package_tests_enabled() -> bool:
    """Whether this run was asked to test the built bundle (it needs ``make package`` first)."""
    return os.environ.get(PACKAGE_TEST_ENV, "") not in ("", "0")
