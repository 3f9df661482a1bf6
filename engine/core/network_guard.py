"""Refusing the internet while proving Taxon works without it.

The self-test (``engine.diagnostics``) and the test suite (``tests/conftest.py``)
both run everything under ``NetworkGuard``: any internet connection or name
lookup fails at once and is recorded, so a hidden download shows up as a failed
check even when the code that tried it caught the error. Loopback stays open
for the local prediction service only where a caller allows it.
"""

from __future__ import annotations

import ipaddress
import socket


class NetworkGuard:
    """Refuses and records every internet connection (and name lookup) while active."""

    def __init__(
        self, attempts: list[str], who: str = "Taxon", allow_loopback: bool = False
    ) -> None:
        self.attempts, self.who, self.allow_loopback = attempts, who, allow_loopback
        self._saved: list[tuple[object, str, object]] = []

    def _refuse(self, what: str) -> OSError:
        self.attempts.append(what)
        return OSError(f"{self.who} refused a network connection: {what}")

    def _allowed(self, address: object) -> bool:
        """Loopback, when allowed (the tests of the local prediction service)."""
        if not self.allow_loopback:
            return False
        host = address[0] if isinstance(address, tuple) else address
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def __enter__(self) -> NetworkGuard:
        guard = self
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
        real_getaddrinfo, real_create_connection = socket.getaddrinfo, socket.create_connection

        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not guard._allowed(address):
                raise guard._refuse(repr(address))
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not guard._allowed(address):
                raise guard._refuse(repr(address))
            return real_connect_ex(sock, address)

        def create_connection(address, *args, **kwargs):
            if not guard._allowed(address):
                raise guard._refuse(repr(address))
            return real_create_connection(address, *args, **kwargs)

        def getaddrinfo(host, *args, **kwargs):
            if host not in (None, "localhost", "127.0.0.1", "::1"):
                raise guard._refuse(f"name lookup {host!r}")
            return real_getaddrinfo(host, *args, **kwargs)

        for owner, name, value in (
            (socket.socket, "connect", connect),
            (socket.socket, "connect_ex", connect_ex),
            (socket, "create_connection", create_connection),
            (socket, "getaddrinfo", getaddrinfo),
        ):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        return self

    def __exit__(self, *exc_info) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()
