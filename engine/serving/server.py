"""Running the service: bind, uvicorn on a background thread, and a handle to stop it.

``start_server`` is the one entry point for the command line and the window
(call it from a worker thread: loading a model and starting the decode
workers take a moment). The socket is bound here, before uvicorn starts, so a
port already in use is a ``UserError`` at once and ``port=0`` yields the
port actually chosen. uvicorn never installs signal handlers off the main
thread; whoever owns the process (the CLI, the GUI) calls ``stop()``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.serving.auth import generate_token, is_loopback
from engine.serving.limits import Limits
from engine.serving.model import ServedModel, load_served_model

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
START_TIMEOUT_S = 30.0

MSG_PORT_IN_USE = N_("Port {port} on {host} is already in use; choose another with --port.")
MSG_CANNOT_BIND = N_("Cannot listen on {host} port {port}: {reason}")
MSG_DID_NOT_START = N_("The prediction service did not start; the details are in the log.")


@dataclass
class ServerHandle:
    """A running service: where it listens, its token (or None) and how to stop it."""

    host: str
    port: int
    token: str | None
    model: ServedModel
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _app: object = field(repr=False)
    _owns_model: bool = field(default=False, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = socket.gethostname()
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the requests under way (up to ``timeout``), then release everything."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True  # type: ignore[attr-defined]
            self._thread.join(timeout)
        self._app.state.service.close()  # type: ignore[attr-defined]
        if self._owns_model:
            self.model.classifier.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0 picks a free port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UserError(
            MSG_CANNOT_BIND, str(error), host=host, port=port, reason=error.strerror or str(error)
        ) from error
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR lets two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(256)
    except OSError as error:
        sock.close()
        if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise UserError(MSG_PORT_IN_USE, str(error), host=host, port=port) from error
        raise UserError(
            MSG_CANNOT_BIND, str(error), host=host, port=port, reason=error.strerror or str(error)
        ) from error
    return sock


def start_server(
    model: ServedModel | str | os.PathLike[str] | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    cors: Iterable[str] = (),
    limits: Limits | None = None,
    decode_workers: int | None = None,
) -> ServerHandle:
    """Serve ``model`` (a ``ServedModel``, a package path, or None/"builtin") until ``stop()``.

    Loopback needs no token; any other address gets ``token``, or a generated
    one (read it from ``handle.token`` and show it to the user). Returns once
    the server accepts connections; raises ``UserError`` if it cannot.
    """
    import uvicorn
    import uvicorn.lifespan.off  # noqa: F401  (named by string in uvicorn: for PyInstaller)
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from engine.serving.app import create_app

    loopback = is_loopback(host)
    if not loopback and not token:
        token = generate_token()
    owns = not isinstance(model, ServedModel)
    served = load_served_model(model) if owns else model  # type: ignore[arg-type]
    sock = None
    try:
        sock = bind(host, port)
        app = create_app(
            served,
            token=token,
            cors=cors,
            limits=limits,
            loopback=loopback,
            decode_workers=decode_workers,
        )
        app.state.service.warm_up()
        # Pure-Python h11 and the stock asyncio loop, given as objects rather than
        # "auto" import strings: nothing optional (uvloop, websockets) is picked up.
        config = uvicorn.Config(
            app,
            http=H11Protocol,
            loop="none",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="taxon-serve", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            server.should_exit = True
            thread.join(5)
            app.state.service.close()
            raise UserError(MSG_DID_NOT_START)
    except BaseException:
        if sock is not None:
            sock.close()
        if owns:
            served.classifier.close()
        raise
    bound_port = sock.getsockname()[1]
    log.info(
        "Serving %s on %s:%d (token: %s)", served.name, host, bound_port, "yes" if token else "no"
    )
    return ServerHandle(host, bound_port, token, served, server, thread, app, owns)
