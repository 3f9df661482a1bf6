"""The prediction service under hostile requests: bad files cost one entry, bad requests a
JSON 4xx, a decoder crash one file, and the server keeps answering."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.serving import Limits, ServedModel, create_app, start_server
from engine.serving import decode as serving_decode
from tests.helpers.network import allow_loopback_only
from tests.helpers.serving import (
    ColourClassifier,
    FailingClassifier,
    LengthClassifier,
    classify_multipart,
    image_bytes,
    png_bomb,
    request,
)

LIMITS = Limits(max_body_bytes=256 * 1024, max_items=8, max_text_chars=50)
TOKEN = "s3cret-token-for-tests"


@pytest.fixture(autouse=True)
def loopback_only(no_network, monkeypatch):
    allow_loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def server():
    handle = start_server(
        ServedModel.from_classifier(ColourClassifier()), port=0, limits=LIMITS, decode_workers=2
    )
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def text_server():
    handle = start_server(ServedModel.from_classifier(LengthClassifier()), port=0, limits=LIMITS)
    yield handle
    handle.stop()


def _error(response, status: int, code: str) -> dict:
    got_status, headers, body = response
    assert got_status == status, body
    assert headers["content-type"].startswith("application/json")
    assert body["error"]["code"] == code and body["error"]["message"]
    assert "Traceback" not in json.dumps(body)
    return body


def test_damaged_files_get_their_own_error_entries(server):
    jpeg = image_bytes(size=(300, 200), fmt="JPEG")
    files = [
        ("bomb.png", png_bomb()),
        ("half.jpg", jpeg[: len(jpeg) // 2]),
        ("notes.txt", b"just some text, not a picture\n"),
        ("strip.png", image_bytes(size=(2100, 50))),
        ("empty.png", b""),
        ("fine.png", image_bytes()),
    ]
    status, _h, body = classify_multipart(server.port, files)
    assert status == 200
    codes = {row["input"]: row.get("code") for row in body["results"]}
    assert codes == {
        "bomb.png": "too_large",
        "half.jpg": "damaged",
        "notes.txt": "not_an_image",
        "strip.png": "too_thin",
        "empty.png": "empty",
        "fine.png": None,
    }
    by_name = {row["input"]: row for row in body["results"]}
    assert "decompression bomb" in by_name["bomb.png"]["error"]
    assert by_name["fine.png"]["predictions"][0]["label"] == "red"


def crash_on_marker(data: bytes, name: str, size: int, resize_shorter: int):
    """Stands in for a native decoder crash: the worker process dies."""
    if data.startswith(b"CRASH"):
        os._exit(3)
    return serving_decode.decode_upload(data, name, size, resize_shorter)


def test_a_crashing_decoder_costs_one_file_not_the_server(monkeypatch):
    monkeypatch.setattr(serving_decode, "decode_upload", crash_on_marker)
    handle = start_server(
        ServedModel.from_classifier(ColourClassifier()), port=0, limits=LIMITS, decode_workers=2
    )
    try:
        files = [("crash.png", b"CRASH" + image_bytes())] + [
            (f"{index}.png", image_bytes()) for index in range(5)
        ]
        status, _h, body = classify_multipart(handle.port, files)
        assert status == 200
        assert [row["input"] for row in body["results"]] == [name for name, _data in files]
        assert body["results"][0]["code"] == "decoder_crashed"
        assert "crashed" in body["results"][0]["error"]
        assert all(row["predictions"][0]["label"] == "red" for row in body["results"][1:])
        assert request(handle.port, "GET", "/healthz")[0] == 200
        again = classify_multipart(handle.port, [("after.png", image_bytes())])
        assert again[2]["results"][0]["predictions"][0]["label"] == "red"
    finally:
        handle.stop()


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: image/png\r\nContent-Length: 1000000000\r\n\r\n"
        )
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    head, _sep, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_a_streamed_body_is_cut_off_at_the_limit_not_read_to_the_end():
    """No Content-Length (chunked): the server stops reading one chunk past the limit."""
    app = create_app(ServedModel.from_classifier(ColourClassifier()), limits=LIMITS)
    chunk, sent, messages = b"x" * 65536, [], []

    async def receive():
        sent.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < 1000}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "raw_path": b"/v1/classify",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"image/png")],
    }
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app.state.service.close()
    assert messages[0]["status"] == 413
    assert sum(sent) <= LIMITS.max_body_bytes + len(chunk)  # 1000 chunks were on offer
    assert json.loads(messages[1]["body"])["error"]["code"] == "request_too_large"


def test_bad_requests_get_json_4xx(server, text_server):
    port = server.port
    _error(
        request(port, "POST", "/v1/classify", b"a,b\n1,2\n", {"Content-Type": "text/csv"}),
        415,
        "unsupported_content_type",
    )
    _error(request(port, "POST", "/v1/classify", b"x"), 415, "unsupported_content_type")
    _error(
        request(
            text_server.port,
            "POST",
            "/v1/classify",
            b'{"texts": ["a",',
            {"Content-Type": "application/json"},
        ),
        400,
        "malformed_json",
    )
    _error(
        request(
            text_server.port,
            "POST",
            "/v1/classify",
            b'{"texts": [1, 2]}',
            {"Content-Type": "application/json"},
        ),
        422,
        "invalid_texts",
    )
    _error(
        request(
            text_server.port,
            "POST",
            "/v1/classify",
            b'{"texts": []}',
            {"Content-Type": "application/json"},
        ),
        400,
        "empty_request",
    )
    _error(
        classify_multipart(port, [(f"{i}.png", image_bytes()) for i in range(9)]),
        413,
        "too_many_items",
    )
    _error(classify_multipart(port, [(f"{i}.png", b"") for i in range(40)]), 413, "too_many_items")
    _error(
        request(
            port,
            "POST",
            "/v1/classify",
            b"--nope\r\n",
            {"Content-Type": "multipart/form-data; boundary=zzz"},
        ),
        400,
        "malformed_multipart",
    )
    _error(
        classify_multipart(port, [("a.png", image_bytes())], query="?top_k=zero"),
        422,
        "invalid_top_k",
    )
    _error(
        request(port, "POST", "/v1/classify", b"", {"Content-Type": "image/png"}),
        400,
        "empty_request",
    )
    _error(request(port, "GET", "/v1/nothing-here"), 404, "not_found")
    _error(request(port, "GET", "/v1/classify"), 405, "method_not_allowed")


def test_a_text_over_the_length_limit_gets_its_own_error(text_server):
    status, _h, body = request(
        text_server.port,
        "POST",
        "/v1/classify",
        json.dumps({"texts": ["ok", "y" * 51]}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    assert body["results"][0]["predictions"][0]["label"] == "short"
    assert body["results"][1]["code"] == "text_too_long"


def test_an_internal_error_is_a_500_without_a_traceback():
    handle = start_server(
        ServedModel.from_classifier(FailingClassifier()), port=0, decode_workers=1
    )
    try:
        response = classify_multipart(handle.port, [("a.png", image_bytes())])
        body = _error(response, 500, "internal_error")
        assert "secret-internal-detail" not in json.dumps(body)
        assert request(handle.port, "GET", "/healthz")[0] == 200
    finally:
        handle.stop()


def test_a_token_is_checked_on_every_request():
    handle = start_server(
        ServedModel.from_classifier(ColourClassifier()), port=0, token=TOKEN, decode_workers=1
    )
    try:
        port = handle.port
        for path in ("/healthz", "/v1/model", "/openapi.json"):
            response = request(port, "GET", path)
            _error(response, 401, "unauthorized")
            assert response[1]["www-authenticate"] == "Bearer"
        _error(
            request(port, "GET", "/v1/model", headers={"Authorization": "Bearer wrong"}),
            401,
            "unauthorized",
        )
        _error(
            request(port, "GET", "/v1/model", headers={"Authorization": TOKEN}), 401, "unauthorized"
        )
        _error(classify_multipart(port, [("a.png", image_bytes())]), 401, "unauthorized")
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert request(port, "GET", "/v1/model", headers=good)[0] == 200
        status, _h, body = classify_multipart(port, [("a.png", image_bytes())], headers=good)
        assert status == 200 and body["results"][0]["predictions"][0]["label"] == "red"
        assert request(port, "GET", "/docs")[0] == 200  # static, names no model
    finally:
        handle.stop()


def test_on_loopback_a_foreign_host_name_is_refused(server):
    _error(
        request(server.port, "GET", "/v1/model", headers={"Host": "attacker.example:80"}),
        421,
        "wrong_host",
    )
    assert request(server.port, "GET", "/v1/model", headers={"Host": "localhost:1"})[0] == 200


def test_cors_is_off_unless_asked_for(server):
    origin = {"Origin": "http://localhost:3000"}
    assert (
        "access-control-allow-origin"
        not in request(server.port, "GET", "/healthz", headers=origin)[1]
    )
    handle = start_server(
        ServedModel.from_classifier(ColourClassifier()),
        port=0,
        cors=["http://localhost:3000"],
        decode_workers=1,
    )
    try:
        headers = request(handle.port, "GET", "/healthz", headers=origin)[1]
        assert headers["access-control-allow-origin"] == "http://localhost:3000"
    finally:
        handle.stop()


def test_two_hundred_concurrent_requests_then_the_server_still_answers(server):
    bodies = [image_bytes(), png_bomb(), b"not an image"]

    def one(index: int) -> tuple[int, str]:
        status, _h, body = request(
            server.port, "POST", "/v1/classify", bodies[index % 3], {"Content-Type": "image/png"}
        )
        return status, body["results"][0].get("code") or body["results"][0]["predictions"][0][
            "label"
        ]

    with ThreadPoolExecutor(200) as pool:
        outcomes = list(pool.map(one, range(200)))
    expected = ["red", "too_large", "not_an_image"]
    assert outcomes == [(200, expected[index % 3]) for index in range(200)]
    assert request(server.port, "GET", "/healthz")[0] == 200
