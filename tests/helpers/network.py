"""The running test's network guard, set by ``tests/conftest.py``, opened by server tests.

The suite forbids every network connection. A server test must reach its own server on
127.0.0.1, so ``allow_loopback_only`` puts back the real ``connect`` for loopback
addresses only; anything else still fails the test.
"""

from __future__ import annotations

from engine.core.network_guard import NetworkGuard

#: The guard of the running test (the autouse ``no_network`` fixture sets it).
guard: NetworkGuard | None = None


def allow_loopback_only(monkeypatch) -> None:
    """Let sockets connect to 127.0.0.1 / ::1; every other address still fails the test."""
    assert guard is not None
    monkeypatch.setattr(guard, "allow_loopback", True)
