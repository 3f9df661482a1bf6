"""Who may use the service: loopback by default, a bearer token beyond it.

Bound to loopback, only programs on this computer can connect, so no token is
needed; but a web page open in the user's browser can still send requests to
``127.0.0.1`` through a domain name that it re-points there (DNS rebinding),
so on loopback the ``Host`` header must name this computer. Bound to any other
address the server requires ``Authorization: Bearer TOKEN`` on every request,
compared in constant time so response timing does not leak the token.

Both checks are plain ASGI middleware: they run before routing and answer
with the same JSON error shape as the rest of the API.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from engine.serving.limits import MSG_BAD_HOST, MSG_UNAUTHORIZED, ApiError

Scope = dict[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
#: Paths that answer without a token: the docs page is static and names no model.
PUBLIC_PATHS = frozenset({"/docs"})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this computer only."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def generate_token() -> str:
    """A fresh random token (32 characters, 192 bits), URL- and shell-safe."""
    return secrets.token_urlsafe(24)


async def send_error(send: Callable[[Any], Awaitable[None]], error: ApiError) -> None:
    """Answer with ``error``'s JSON body (used before the app is reached)."""
    body = json.dumps(error.body(), ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (key.lower().encode("latin-1"), value.encode("latin-1"))
        for key, value in error.headers.items()
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return b""


class TokenGuard:
    """Refuses every HTTP request without ``Authorization: Bearer <token>`` (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = b"Bearer " + token.encode("utf-8")

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path") not in PUBLIC_PATHS:
            given = _header(scope, b"authorization")
            if not hmac.compare_digest(given, self._expected):
                error = ApiError(401, "unauthorized", MSG_UNAUTHORIZED)
                error.headers["WWW-Authenticate"] = "Bearer"
                await send_error(send, error)
                return
        await self.app(scope, receive, send)


class LoopbackHostGuard:
    """On loopback, refuses requests whose ``Host`` is not this computer (DNS rebinding)."""

    def __init__(self, app: ASGIApp, extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self._extra = {host.lower() for host in extra_hosts}

    def allowed(self, host_header: str) -> bool:
        host = host_header.strip().lower()
        if host.startswith("["):  # [::1]:8765
            host = host[1:].split("]", 1)[0]
        elif host.count(":") == 1:
            host = host.split(":", 1)[0]
        return not host or is_loopback(host) or host in self._extra

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "http":
            host = _header(scope, b"host").decode("latin-1")
            if not self.allowed(host):
                await send_error(send, ApiError(421, "wrong_host", MSG_BAD_HOST))
                return
        await self.app(scope, receive, send)
