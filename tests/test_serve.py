"""``taxon serve``: a model answers over HTTP on loopback, images and texts, alone and batched."""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.core.jobs import UserError
from engine.serving import Limits, ServedModel, start_server
from engine.serving.auth import is_loopback
from tests.helpers.network import allow_loopback_only
from tests.helpers.serving import (
    ColourClassifier,
    LengthClassifier,
    classify_multipart,
    image_bytes,
    request,
)

ROOT = Path(__file__).resolve().parent.parent
RED, GREEN, BLUE = (220, 10, 10), (10, 220, 10), (10, 10, 220)


@pytest.fixture(autouse=True)
def loopback_only(no_network, monkeypatch):
    allow_loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def colours():
    classifier = ColourClassifier()
    model = ServedModel(classifier, "colours", "image", classifier.labels, {"accuracy": 0.9})
    handle = start_server(model, port=0, decode_workers=1, limits=Limits(batch_wait_s=0.05))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def lengths():
    handle = start_server(ServedModel.from_classifier(LengthClassifier()), port=0)
    yield handle
    handle.stop()


def test_health_and_model_info(colours):
    assert request(colours.port, "GET", "/healthz")[::2] == (200, {"status": "ok"})
    status, _headers, info = request(colours.port, "GET", "/v1/model")
    assert status == 200
    assert info["name"] == "colours" and info["task"] == "image"
    assert info["labels"] == ["red", "green", "blue"] and info["metrics"] == {"accuracy": 0.9}
    assert info["limits"]["max_items"] == 64


def test_images_as_multipart_files_with_top_k(colours):
    status, _headers, body = classify_multipart(
        colours.port,
        [("red.png", image_bytes(RED)), ("blue.jpg", image_bytes(BLUE, fmt="JPEG"))],
        fields={"top_k": "2"},
    )
    assert status == 200 and body["model"] == "colours"
    red, blue = body["results"]
    assert red["input"] == "red.png" and red["predictions"][0]["label"] == "red"
    assert blue["input"] == "blue.jpg" and blue["predictions"][0]["label"] == "blue"
    assert len(red["predictions"]) == 2 and (red["width"], red["height"]) == (64, 48)
    assert red["predictions"][0]["score"] > red["predictions"][1]["score"]


def test_one_image_as_the_raw_body(colours):
    status, _headers, body = request(
        colours.port,
        "POST",
        "/v1/classify?top_k=1&name=leaf.png",
        image_bytes(GREEN),
        {"Content-Type": "image/png"},
    )
    assert status == 200
    assert body["results"] == [
        {
            "input": "leaf.png",
            "width": 64,
            "height": 48,
            "predictions": [body["results"][0]["predictions"][0]],
        }
    ]
    assert body["results"][0]["predictions"][0]["label"] == "green"


def test_concurrent_requests_share_model_batches(colours):
    classifier = colours.model.classifier
    classifier.batch_sizes.clear()
    colours_cycle = [RED, GREEN, BLUE]

    def one(index: int) -> str:
        status, _h, body = request(
            colours.port,
            "POST",
            "/v1/classify",
            image_bytes(colours_cycle[index % 3]),
            {"Content-Type": "image/png"},
        )
        assert status == 200
        return body["results"][0]["predictions"][0]["label"]

    with ThreadPoolExecutor(16) as pool:
        labels = list(pool.map(one, range(24)))
    assert labels == [["red", "green", "blue"][index % 3] for index in range(24)]
    assert sum(classifier.batch_sizes) == 24
    assert max(classifier.batch_sizes) > 1  # requests were answered from shared batches


def test_texts_as_json_and_as_plain_text(lengths):
    status, _h, info = request(lengths.port, "GET", "/v1/model")
    assert status == 200 and info["task"] == "text" and info["labels"] == ["short", "long"]
    status, _h, body = request(
        lengths.port,
        "POST",
        "/v1/classify",
        b'{"texts": ["hi", "a considerably longer sentence here"], "top_k": 1}',
        {"Content-Type": "application/json"},
    )
    assert status == 200
    short, long = body["results"]
    assert short["predictions"] == [{"label": "short", "score": pytest.approx(0.9)}]
    assert long["predictions"][0]["label"] == "long" and len(long["predictions"]) == 1
    assert long["language"] == "en"
    status, _h, body = request(
        lengths.port,
        "POST",
        "/v1/classify?top_k=2",
        "¡Hola!".encode(),
        {"Content-Type": "text/plain; charset=utf-8"},
    )
    assert status == 200 and len(body["results"][0]["predictions"]) == 2


def test_a_text_model_says_it_wants_texts(lengths, colours):
    status, _h, body = request(
        lengths.port, "POST", "/v1/classify", image_bytes(RED), {"Content-Type": "image/png"}
    )
    assert status == 415 and body["error"]["code"] == "wants_texts"
    status, _h, body = request(
        colours.port,
        "POST",
        "/v1/classify",
        b'{"texts": ["x"]}',
        {"Content-Type": "application/json"},
    )
    assert status == 415 and body["error"]["code"] == "wants_images"


@pytest.mark.slow
def test_a_trained_text_package_is_served(tmp_path):
    import pandas as pd

    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train
    from tests.helpers.texts import FOOD, SPORT

    table = tmp_path / "topics.csv"
    rows = [(text, "sport") for text in SPORT] + [(text, "food") for text in FOOD]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(table, index=False)
    result = train(load_dataset(str(table)), tmp_path / "m", TrainConfig(mode="instant", seed=2))
    handle = start_server(result.package, port=0)
    try:
        status, _h, info = request(handle.port, "GET", "/v1/model")
        assert info["task"] == "text" and sorted(info["labels"]) == ["food", "sport"]
        assert "accuracy" in info["metrics"]
        status, _h, body = request(
            handle.port,
            "POST",
            "/v1/classify",
            b'{"texts": ["The goalkeeper saved a penalty in the match"]}',
            {"Content-Type": "application/json"},
        )
        assert status == 200 and body["results"][0]["predictions"][0]["label"] == "sport"
    finally:
        handle.stop()


def test_docs_page_loads_nothing_from_outside(colours):
    status, headers, page = request(colours.port, "GET", "/docs")
    assert status == 200 and "openapi.json" in page
    assert "default-src 'none'" in headers["content-security-policy"]
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    status, _h, spec = request(colours.port, "GET", "/openapi.json")
    assert status == 200 and "/v1/classify" in spec["paths"] and "/docs" not in spec["paths"]
    assert request(colours.port, "GET", "/redoc")[0] == 404


def test_start_and_stop_from_another_thread_frees_the_port():
    handle = start_server(ServedModel.from_classifier(ColourClassifier()), port=0, decode_workers=1)
    assert handle.url == f"http://127.0.0.1:{handle.port}" and handle.token is None
    assert request(handle.port, "GET", "/healthz")[0] == 200
    with pytest.raises(UserError, match="already in use"):
        start_server(ServedModel.from_classifier(ColourClassifier()), port=handle.port)
    handle.stop()
    assert not handle.running
    with pytest.raises(ConnectionRefusedError):
        request(handle.port, "GET", "/healthz", timeout=5)


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="no onnxruntime")
def test_cli_serves_the_builtin_model_and_stops_on_sigterm():
    china = (
        Path(importlib.util.find_spec("sklearn").submodule_search_locations[0])
        / "datasets/images/china.jpg"
    )
    process = subprocess.Popen(
        [sys.executable, "main.py", "serve", "builtin", "--port", "0", "--lang", "en"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Ctrl+C" in line or not line:
                break
        output = "".join(lines)
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", output).group(1))
        assert f"curl -F file=@photo.jpg http://127.0.0.1:{port}/v1/classify" in output
        status, _h, body = classify_multipart(port, [("china.jpg", china.read_bytes())])
        assert status == 200
        labels = [p["label"] for p in body["results"][0]["predictions"]]
        assert "palace" in labels
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_loopback_allowance_still_refuses_every_other_address(no_network):
    import socket

    with pytest.raises(OSError, match="refused a network connection"):
        socket.create_connection(("93.184.216.34", 80))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
        sock.connect(("10.1.2.3", 8765))
    assert len(no_network) == 2
    no_network.clear()  # made on purpose
