"""Shared by the prediction-service tests: instant stand-in models and HTTP helpers.

A server test must first open the loopback network (``tests.helpers.network``).
"""

from __future__ import annotations

import http.client
import io
import json
import struct
import uuid
import zlib
from typing import Any

import numpy as np
from PIL import Image

from engine.models.contract import Classifier, PreprocessConfig, softmax


class ColourClassifier(Classifier):
    """Instant stand-in for an image model: the dominant colour channel wins."""

    name = "colours"
    labels = ["red", "green", "blue"]
    backend = "numpy"
    batch_size = 8
    preprocess = PreprocessConfig(size=32, resize_shorter=32)

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(pixels))
        return softmax(pixels.reshape(len(pixels), -1, 3).mean(axis=1) / 10.0)


def image_bytes(colour=(200, 20, 20), size=(64, 48), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bomb(side: int = 40_000) -> bytes:
    """A tiny PNG whose header claims ``side``² pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def multipart(
    files: list[tuple[str, bytes]], fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in (fields or {}).items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for filename, data in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request to 127.0.0.1:``port``: status, headers, JSON body (or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        head = {key.lower(): value for key, value in response.getheaders()}
    finally:
        connection.close()
    try:
        return response.status, head, json.loads(raw)
    except ValueError:
        return response.status, head, raw.decode("utf-8", "replace")


def classify_multipart(
    port: int,
    files: list[tuple[str, bytes]],
    query: str = "",
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
):
    body, content_type = multipart(files, fields)
    return request(
        port,
        "POST",
        "/v1/classify" + query,
        body,
        {"Content-Type": content_type, **(headers or {})},
    )


class LengthClassifier(Classifier):
    """Instant stand-in for a text model: short or long text."""

    name = "lengths"
    labels = ["short", "long"]
    task = "text"
    backend = "numpy"
    batch_size = 32

    def predict_texts(self, texts, progress=None, cancel=None) -> np.ndarray:
        long = np.array([len(text) > 20 for text in texts], dtype=np.float32)
        return np.stack([0.9 - 0.8 * long, 0.1 + 0.8 * long], axis=1)

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        raise TypeError("a text model")


class FailingClassifier(ColourClassifier):
    """A model whose every batch raises, with a secret in the message."""

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        raise RuntimeError("secret-internal-detail")
