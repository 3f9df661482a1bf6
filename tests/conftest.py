"""Suite-wide guarantees: no network, no leaked threads, a private user folder."""

from __future__ import annotations

import os
import socket
import sys
import tempfile

import pytest

_HOME = tempfile.mkdtemp(prefix="taxon-test-home-")
os.environ["TAXON_HOME"] = _HOME
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine import i18n  # noqa: E402  (after TAXON_HOME is set)

_network_attempts: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection


def _is_network(family: int) -> bool:
    return family in (socket.AF_INET, socket.AF_INET6)


def _guarded_connect(self, address):
    if _is_network(self.family):
        _network_attempts.append(repr(address))
        raise OSError("Taxon's test suite forbids network connections")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if _is_network(self.family):
        _network_attempts.append(repr(address))
        raise OSError("Taxon's test suite forbids network connections")
    return _real_connect_ex(self, address)


def _guarded_create_connection(address, *args, **kwargs):
    _network_attempts.append(repr(address))
    raise OSError("Taxon's test suite forbids network connections")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test, even if the code caught it."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "create_connection", _guarded_create_connection)
    _network_attempts.clear()
    yield _network_attempts
    attempts = list(_network_attempts)
    _network_attempts.clear()
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
