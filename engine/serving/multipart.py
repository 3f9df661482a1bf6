"""multipart/form-data bodies parsed in memory, with a cap on the number of parts.

Starlette's own form parser spools uploads over 1 MB to temporary files; the
service already holds the whole (size-limited) body in memory, and Taxon
writes nothing outside its own folders, so the parts are cut out of the body
here with python-multipart's streaming parser. A body with more parts than
allowed is refused as soon as the parser reaches the extra part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from engine.serving.limits import MSG_MULTIPART, MSG_TOO_MANY, ApiError, Limits


@dataclass
class Part:
    """One part: a file when ``filename`` is not None, else a form field."""

    name: str = ""
    filename: str | None = None
    content_type: str = ""
    chunks: list[bytes] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def _bad(reason: str) -> ApiError:
    return ApiError(400, "malformed_multipart", MSG_MULTIPART, reason=reason)


def parse_multipart(body: bytes, content_type: str, limits: Limits) -> list[Part]:
    """The parts of ``body``; ``ApiError`` for a malformed body or too many parts.

    Up to ``limits.max_items`` files plus a few fields (``top_k``, texts) are read.
    """
    _type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise _bad("no boundary in the Content-Type header")
    max_parts = limits.max_items + 8
    parts: list[Part] = []
    header_name: list[bytes] = []
    header_value: list[bytes] = []

    def on_part_begin() -> None:
        if len(parts) >= max_parts:
            raise ApiError(
                413, "too_many_items", MSG_TOO_MANY, count=f"{max_parts}+", limit=limits.max_items
            )
        parts.append(Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.append(data[start:end])

    def on_header_end() -> None:
        name = b"".join(header_name).decode("latin-1").strip().lower()
        value = b"".join(header_value)
        header_name.clear()
        header_value.clear()
        part = parts[-1]
        if name == "content-disposition":
            _disposition, params = parse_options_header(value)
            part.name = params.get(b"name", b"").decode("utf-8", "replace")
            if b"filename" in params:
                part.filename = params[b"filename"].decode("utf-8", "replace")
        elif name == "content-type":
            part.content_type = value.decode("latin-1").strip()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].chunks.append(data[start:end])

    parser = MultipartParser(
        boundary,
        {  # type: ignore[arg-type]
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as error:
        raise _bad(str(error) or type(error).__name__) from None
    return parts
