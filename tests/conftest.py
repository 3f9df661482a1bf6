"""Suite-wide guarantees: no network, no leaked threads, a private user folder."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import pytest

# The private user folder holds every model the suite trains (about 0.6 GB after a full run);
# it goes when the run ends, or repeated runs fill the disk that CI shares with them.
_HOME = tempfile.mkdtemp(prefix="taxon-test-home-")
os.environ["TAXON_HOME"] = _HOME
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.core import i18n  # noqa: E402  (after TAXON_HOME is set)
from engine.core.network_guard import NetworkGuard  # noqa: E402
from tests.helpers import network  # noqa: E402


@pytest.fixture(autouse=True)
def no_network():
    """Any attempt to open a network connection fails the test, even if the code caught it."""
    attempts: list[str] = []
    network.guard = NetworkGuard(attempts, who="Taxon's test suite")
    with network.guard:
        yield attempts
    if attempts:
        pytest.fail(f"network connection attempted: {attempts}")


@pytest.fixture(autouse=True)
def english_by_default():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """A test that leaves a JobWorker's QThread running fails."""
    yield
    worker_module = sys.modules.get("ui.worker")
    if worker_module is None:
        return
    leaked = worker_module.running_workers()
    for worker in leaked:
        worker.cancel()
        worker.wait(10_000)
    if leaked:
        pytest.fail(f"test left {len(leaked)} QThread(s) running")
