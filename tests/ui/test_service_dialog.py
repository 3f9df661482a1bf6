"""The prediction service from the window: start, the address, a real request, stop on close."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.helpers import deploy_models as dm
from tests.helpers.network import allow_loopback_only
from tests.helpers.serving import request
from ui.pages.models.service import ServiceDialog, UseModelDialog


@pytest.fixture(scope="module")
def text_model(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("service-model")
    return dm.train_package(dm.topics_dataset(base / "data"), base / "topics", mode="instant")


def _start(qtbot, dialog: ServiceDialog) -> None:
    dialog.start()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=60_000)


def test_the_service_starts_answers_and_stops_when_the_dialog_closes(
    qtbot, text_model, monkeypatch, no_network
):
    allow_loopback_only(monkeypatch)
    dialog = ServiceDialog(text_model, "Topics", "text")
    qtbot.addWidget(dialog)
    dialog.port.setValue(0)  # any free port
    dialog.show()
    _start(qtbot, dialog)
    assert dialog.running
    port = dialog.handle.port
    assert f"127.0.0.1:{port}" in dialog.address.text()
    assert dialog.start_button.text() == "Stop the service"
    assert f"127.0.0.1:{port}/v1/classify" in dialog.curl.text.toPlainText()
    assert "Authorization" not in dialog.curl.text.toPlainText()  # loopback: no token

    status, _headers, body = request(port, "GET", "/healthz")
    assert status == 200
    status, _headers, body = request(
        port,
        "POST",
        "/v1/classify",
        json.dumps({"texts": ["The team won the match"]}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200 and body["results"][0]["predictions"][0]["label"] == "sport"

    handle = dialog.handle
    dialog.close()
    assert not handle.running and not dialog.running
    with pytest.raises(OSError):
        request(port, "GET", "/healthz", timeout=2)
    assert no_network == []


def test_a_port_in_use_is_said_beside_the_port(qtbot, text_model):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        dialog = ServiceDialog(text_model, "Topics", "text")
        qtbot.addWidget(dialog)
        dialog.port.setValue(taken.getsockname()[1])
        dialog.show()
        _start(qtbot, dialog)
        assert not dialog.running
        assert "already in use" in dialog.address.text()
        assert dialog.start_button.text() == "Start the service"
        dialog.close()
    finally:
        taken.close()


def test_allowing_other_computers_needs_a_token_in_the_examples(qtbot, text_model):
    dialog = ServiceDialog(text_model, "Topics", "text")
    qtbot.addWidget(dialog)
    assert not dialog.token.isVisibleTo(dialog)
    dialog.others.setChecked(True)
    token = dialog.token.text()
    assert len(token) >= 20 and dialog.token.isVisibleTo(dialog)
    assert f"Bearer {token}" in dialog.curl.text.toPlainText()
    assert f"Bearer {token}" in dialog.python.text.toPlainText()
    dialog.curl.copy.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == dialog.curl.text.toPlainText()
    dialog.close()


def test_the_python_example_is_valid_python(qtbot, text_model):
    dialog = ServiceDialog(text_model, "Topics", "image")
    qtbot.addWidget(dialog)
    compile(dialog.python.text.toPlainText(), "example", "exec")
    assert "photo.jpg" in dialog.curl.text.toPlainText()
    dialog.close()


def test_use_this_model_offers_every_export_format_and_the_service(qtbot, text_model):
    from ui.pages.models.actions import EXPORT_FORMATS

    dialog = UseModelDialog(text_model, "Topics", "text")
    qtbot.addWidget(dialog)
    assert [fmt.id for _button, fmt in dialog.format_buttons] == [f.id for f in EXPORT_FORMATS]
    dialog.format_buttons[1][0].click()
    assert dialog.chosen is EXPORT_FORMATS[1]
    dialog = UseModelDialog(text_model, "Topics", "text")
    qtbot.addWidget(dialog)
    dialog.serve_button.click()
    assert dialog.result() == 2 and dialog.chosen is None


def test_the_models_page_serves_the_selected_model(window, qtbot, text_model, monkeypatch):
    from engine.models.library import ModelLibrary

    ModelLibrary().add(text_model)
    page = window.page("modelsPage")
    window.show_page(page)
    page.refresh()
    assert page.select(str(text_model.resolve()))
    assert page.serve_button.isEnabled() and page.serve_button.text() == "Serve…"
    page.serve_button.click()
    dialog = page.service_dialog
    assert dialog.isVisible() and "topics" in dialog.windowTitle()
    dialog.close()
