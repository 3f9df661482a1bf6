"""The FastAPI application: routes, request parsing and JSON errors.

``create_app(model, token=..., cors=..., limits=...)`` builds it; nothing here
binds a socket (see ``engine.serving.server``). Decisions worth knowing:

- FastAPI's ``/docs`` and ``/redoc`` load JavaScript and CSS from a CDN, which
  would make the user's browser reach the internet. They are off; ``/docs`` is
  a small self-contained page (no external asset, enforced by its
  Content-Security-Policy) that renders ``/openapi.json``.
- FastAPI's built-in OpenTelemetry is switched off, whatever the environment
  says: nothing is ever exported from this machine.
- Every error is JSON, ``{"error": {"code", "message"}}``; an unexpected one is
  logged with its traceback and answered with a 500 that contains none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.core.about import app_version
from engine.serving.auth import LoopbackHostGuard, TokenGuard
from engine.serving.batcher import BatcherClosed
from engine.serving.docs_page import CLASSIFY_OPENAPI, DOCS_CSP, DOCS_HTML
from engine.serving.limits import (
    MSG_BUSY,
    MSG_CONTENT_TYPE,
    MSG_INTERNAL,
    MSG_JSON,
    MSG_METHOD,
    MSG_NOT_FOUND,
    MSG_TEXTS_SHAPE,
    MSG_WANTS_IMAGES,
    MSG_WANTS_TEXTS,
    ApiError,
    Limits,
    check_count,
    parse_top_k,
    read_body,
)
from engine.serving.model import ServedModel
from engine.serving.multipart import parse_multipart
from engine.serving.service import Service

log = logging.getLogger(__name__)

IMAGE_TYPES = ("image/", "application/octet-stream")
_TELEMETRY_OFF = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def create_app(
    model: ServedModel,
    *,
    token: str | None = None,
    cors: Iterable[str] = (),
    limits: Limits | None = None,
    loopback: bool = True,
    decode_workers: int | None = None,
) -> FastAPI:
    """The service for ``model``; ``app.state.service.close()`` releases its threads.

    ``token`` makes every request (but the static ``/docs`` page) need
    ``Authorization: Bearer TOKEN``; ``loopback`` turns on the Host check;
    ``cors`` lists the browser origins allowed to call the API (none by default).
    """
    limits = limits or Limits()
    service = Service(model, limits, decode_workers)
    app = FastAPI(
        title="Taxon prediction service",
        version=app_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        telemetry=_TELEMETRY_OFF,
    )  # type: ignore[arg-type]
    app.state.service = service
    _add_errors(app)
    _add_routes(app, service)
    if token:
        app.add_middleware(TokenGuard, token=token)
    if loopback:
        app.add_middleware(LoopbackHostGuard)
    origins = [origin for origin in cors if origin]
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


def _add_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _error_response(ApiError(404, "not_found", MSG_NOT_FOUND))
        if error.status_code == 405:
            return _error_response(ApiError(405, "method_not_allowed", MSG_METHOD))
        return JSONResponse(
            {"error": {"code": f"http_{error.status_code}", "message": str(error.detail)}},
            status_code=error.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": str(error)[:500]}}, status_code=422
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error(
            "Unexpected error answering %s %s", request.method, request.url.path, exc_info=error
        )
        return _error_response(ApiError(500, "internal_error", MSG_INTERNAL))


def _add_routes(app: FastAPI, service: Service) -> None:
    model = service.model

    @app.get("/healthz", summary="Whether the server is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/model", summary="The served model: name, task, labels, validation metrics")
    async def model_info() -> dict[str, Any]:
        return {
            **model.info(),
            "limits": {
                "max_body_bytes": service.limits.max_body_bytes,
                "max_items": service.limits.max_items,
            },
        }

    @app.post("/v1/classify", summary="Classify images or texts", openapi_extra=CLASSIFY_OPENAPI)
    async def classify(request: Request) -> JSONResponse:
        async with service.slots:
            try:
                results = await _classify(request, service)
            except BatcherClosed:
                raise ApiError(503, "shutting_down", MSG_BUSY) from None
        return JSONResponse({"model": model.name, "results": results})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(
            DOCS_HTML, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-store"}
        )


async def _classify(request: Request, service: Service) -> list[dict[str, Any]]:
    """Dispatch on the content type; ``ApiError`` for anything the model cannot take."""
    limits, task = service.limits, service.model.task
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    top_k = parse_top_k(request.query_params.get("top_k"))
    if not (
        kind == "multipart/form-data"
        or kind == "application/json"
        or kind.endswith("+json")
        or kind == "text/plain"
        or kind.startswith(IMAGE_TYPES)
    ):
        raise ApiError(415, "unsupported_content_type", MSG_CONTENT_TYPE, type=kind or "-")
    body = await read_body(request, limits)
    if kind == "multipart/form-data":
        parts = parse_multipart(body, content_type, limits)
        fields = {part.name: part.data for part in parts if part.filename is None}
        if "top_k" in fields:
            top_k = parse_top_k(fields["top_k"].decode("utf-8", "replace").strip())
        if task == "text":
            texts = [
                part.data.decode("utf-8", "replace")
                for part in parts
                if part.filename is None and part.name in ("text", "texts")
            ]
            if not texts:
                raise ApiError(415, "wants_texts", MSG_WANTS_TEXTS)
            return await _texts(service, texts, top_k)
        uploads = [
            (part.filename or f"file {index}", part.data)
            for index, part in enumerate((p for p in parts if p.filename is not None), 1)
        ]
        check_count(len(uploads), limits)
        return await service.classify_images(uploads, top_k)
    if kind == "text/plain" or kind == "application/json" or kind.endswith("+json"):
        if task != "text":
            raise ApiError(415, "wants_images", MSG_WANTS_IMAGES)
        if kind == "text/plain":
            return await _texts(service, [body.decode("utf-8", "replace")], top_k)
        texts, top_k = _json_texts(body, top_k)
        return await _texts(service, texts, top_k)
    if task == "text":
        raise ApiError(415, "wants_texts", MSG_WANTS_TEXTS)
    check_count(1 if body else 0, limits)
    name = request.query_params.get("name") or "image"
    return await service.classify_images([(name[:200], body)], top_k)


def _json_texts(body: bytes, top_k: int) -> tuple[list[str], int]:
    """``{"texts": [...], "top_k": k}`` from a JSON body, or a 400/422 ``ApiError``."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, "malformed_json", MSG_JSON, reason=str(error)[:200]) from None
    if isinstance(data, dict) and isinstance(data.get("text"), str) and "texts" not in data:
        data = {**data, "texts": [data["text"]]}
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ApiError(422, "invalid_texts", MSG_TEXTS_SHAPE)
    if "top_k" in data:
        top_k = parse_top_k(data["top_k"])
    return texts, top_k


async def _texts(service: Service, texts: list[str], top_k: int) -> list[dict[str, Any]]:
    check_count(len(texts), service.limits)
    named = [(f"text {index}", text) for index, text in enumerate(texts, 1)]
    return await service.classify_texts(named, top_k)
