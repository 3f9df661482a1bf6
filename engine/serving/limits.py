"""What the prediction service accepts, and the JSON a client gets when it asks for more.

Every refusal is an ``ApiError``: an HTTP status, a stable machine-readable
``code`` for programs, and a message translated into the server's language for
people. The limits bound what one request, and all requests together, can
cost: the body is counted while it is read (a client that claims a small
``Content-Length`` and sends gigabytes is cut off at the limit, not after),
and only ``max_concurrent`` requests hold a body in memory at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from engine.core.i18n import N_, Message

MIB = 1024 * 1024

MSG_TOO_BIG = N_("The request is larger than {limit} MB.")
MSG_TOO_MANY = N_("The request holds {count} items; at most {limit} are allowed per request.")
MSG_NOTHING = N_("The request holds nothing to classify.")
MSG_SLOW = N_("The request body took longer than {seconds} seconds to arrive.")
MSG_CONTENT_TYPE = N_(
    "Unsupported content type “{type}”. Send images as multipart/form-data or as one "
    'image body (image/jpeg, image/png…), texts as application/json {{"texts": [...]}}.'
)
MSG_JSON = N_("The request body is not valid JSON: {reason}")
MSG_TEXTS_SHAPE = N_('Send texts as a JSON object: {{"texts": ["first text", "second"]}}.')
MSG_MULTIPART = N_("The multipart body cannot be read: {reason}")
MSG_TOP_K = N_("top_k must be a whole number of at least 1.")
MSG_WANTS_TEXTS = N_('This model classifies texts: send {{"texts": [...]}} as JSON.')
MSG_WANTS_IMAGES = N_("This model classifies images: send image files, not texts.")
MSG_TEXT_TOO_LONG = N_("The text is longer than {limit} characters.")
MSG_UNAUTHORIZED = N_("A valid token is needed: send the header “Authorization: Bearer TOKEN”.")
MSG_BAD_HOST = N_("This server answers only requests addressed to this computer.")
MSG_NOT_FOUND = N_("There is nothing at this address. See /docs for the API.")
MSG_METHOD = N_("This method is not allowed here. See /docs for the API.")
MSG_INTERNAL = N_("Something went wrong on the server. The details were written to its log.")
MSG_BUSY = N_("The server is shutting down.")


@dataclass(frozen=True)
class Limits:
    """Per-request and server-wide bounds (the defaults suit a desktop and a small GPU)."""

    #: Largest request body, counted while it arrives.
    max_body_bytes: int = 32 * MIB
    #: Images or texts per request.
    max_items: int = 64
    #: Characters per text; a longer one gets its own error entry.
    max_text_chars: int = 100_000
    #: Requests reading or being classified at once; the rest wait their turn.
    max_concurrent: int = 32
    #: Seconds a client may take to send its body (a stalled upload frees its slot).
    body_timeout_s: float = 60.0
    #: How long the model waits for more work before running a partial batch.
    batch_wait_s: float = 0.005


class ApiError(Exception):
    """A refused request: ``status``, a stable ``code`` and a translatable message."""

    def __init__(self, status: int, code: str, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.status, self.code = status, code
        self.message = Message(msgid, params)
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message.text()}}


def too_big(limits: Limits) -> ApiError:
    return ApiError(413, "request_too_large", MSG_TOO_BIG, limit=limits.max_body_bytes // MIB)


def check_count(count: int, limits: Limits) -> None:
    """Refuse an empty request or one with more items than ``limits.max_items``."""
    if count == 0:
        raise ApiError(400, "empty_request", MSG_NOTHING)
    if count > limits.max_items:
        raise ApiError(413, "too_many_items", MSG_TOO_MANY, count=count, limit=limits.max_items)


def parse_top_k(value: Any, default: int = 5) -> int:
    """A positive ``top_k`` from a query string, form field or JSON value."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or isinstance(value, float):
        raise ApiError(422, "invalid_top_k", MSG_TOP_K)
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise ApiError(422, "invalid_top_k", MSG_TOP_K) from None
    if k < 1:
        raise ApiError(422, "invalid_top_k", MSG_TOP_K)
    return k


async def read_body(request: Any, limits: Limits) -> bytes:
    """The whole body, refused with 413 as soon as it passes the limit (or claims to).

    ``request`` is a Starlette ``Request``. A declared ``Content-Length`` over the
    limit is refused before a byte is read; otherwise bytes are counted as they
    arrive, so a lying or chunked client costs at most one chunk past the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise too_big(limits)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise too_big(limits)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            408, "request_timeout", MSG_SLOW, seconds=round(limits.body_timeout_s)
        ) from None
    return b"".join(chunks)
