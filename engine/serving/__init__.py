"""The local prediction service behind ``taxon serve``: a model over HTTP, on this machine.

``start_server(model, host, port, token)`` runs it on a background thread and
returns a ``ServerHandle`` (``.url``, ``.token``, ``.stop()``); the command
line and the window both use it. The modules, smallest first:

- ``limits``: request limits and the JSON error a client gets for each refusal
- ``auth``: loopback detection, bearer tokens, the Host check
- ``decode``: uploaded bytes to model pixels in the crash-safe decode workers
- ``batcher``: one thread owns the model and batches concurrent requests
- ``app``: the FastAPI application (routes, parsing, responses)
- ``server``: loading the model, binding, uvicorn on a thread

Names are imported lazily: a decode worker unpickles ``engine.serving.decode``
and must not pay for importing FastAPI.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "start_server": "engine.serving.server",
    "ServerHandle": "engine.serving.server",
    "ServedModel": "engine.serving.server",
    "load_served_model": "engine.serving.server",
    "create_app": "engine.serving.app",
    "Limits": "engine.serving.limits",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
