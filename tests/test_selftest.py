"""``python main.py --self-test``: one line per check, non-zero exit on any failure."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.core import i18n
from ui import selftest

ROOT = Path(__file__).resolve().parent.parent


def _self_test(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, TAXON_HOME=str(tmp_path), **env)
    environment.pop("QT_QPA_PLATFORM", None)  # the self-test must choose offscreen itself
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--self-test", "--lang", "en", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _lines(output: str) -> dict[str, str]:
    """'PASS Name: detail [1.0 s]' lines keyed by check name."""
    lines = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL"):
            lines[rest.split(":", 1)[0]] = line
    return lines


@pytest.mark.slow
def test_self_test_passes_from_source_and_reports_every_check(tmp_path):
    result = _self_test(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert list(lines) == [name for name, _check in selftest.CHECKS]
    assert all(line.startswith("PASS") for line in lines.values())
    assert "china.jpg → palace, flower.jpg → daisy" in lines["Built-in image model"]
    assert all(f" {code} (" in lines["Languages"] for code in i18n.SHIPPED_LANGUAGES[1:])
    assert result.stdout.strip().endswith(f"All {len(selftest.CHECKS)} checks passed.")
    # It ran in a throw-away folder, not in the caller's user folder.
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_self_test_fails_when_a_library_is_missing_from_the_installation(tmp_path):
    """A bundle that lost ONNX Runtime: both checks that need it fail, the rest pass."""
    shadow = tmp_path / "shadow" / "onnxruntime"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('onnxruntime was left out')\n")
    home = tmp_path / "home"
    home.mkdir()
    only = "PyTorch,onnx runtime,Built-in image model,Offline"  # names match in any case
    result = _self_test(home, "--only", only, PYTHONPATH=str(shadow.parent))
    assert result.returncode == 1
    lines = _lines(result.stdout)
    assert list(lines) == ["PyTorch", "ONNX Runtime", "Built-in image model", "Offline"]
    assert lines["ONNX Runtime"].startswith("FAIL") and "left out" in lines["ONNX Runtime"]
    assert lines["Built-in image model"].startswith("FAIL")
    assert "instead of ONNX Runtime" in lines["Built-in image model"]
    assert lines["PyTorch"].startswith("PASS") and lines["Offline"].startswith("PASS")
    assert result.stdout.splitlines()[-1] == "2 of 4 checks failed."


def test_an_unknown_check_name_is_a_usage_error(tmp_path):
    result = _self_test(tmp_path, "--only", "Qt platform,Teleport")
    assert result.returncode == 2
    assert "teleport" in result.stderr and "Built-in image model" in result.stderr


def test_languages_without_a_qt_catalog_agree_with_the_catalog_tests():
    from tests.helpers.languages import WITHOUT_QT_TRANSLATION

    assert selftest.WITHOUT_QT_TRANSLATION == set(WITHOUT_QT_TRANSLATION)


def test_a_failing_or_crashing_check_is_reported_and_counted():
    def good(context):
        return "fine"

    def finding(context):
        raise selftest.CheckFailed("the plugin is missing")

    def crash(context):
        return {}["nothing"]

    out = io.StringIO()
    failed = selftest.run_checks(
        selftest.Context(), [("Good", good), ("Finding", finding), ("Crash", crash)], out=out
    )
    lines = out.getvalue().splitlines()
    assert failed == 2
    assert lines[0].startswith("PASS Good: fine")
    assert lines[1].startswith("FAIL Finding: the plugin is missing")
    assert lines[2].startswith("FAIL Crash: KeyError") and "test_selftest.py" in lines[2]


def test_network_guard_refuses_and_records_connections_and_lookups(no_network):
    attempts: list[str] = []
    with selftest.NetworkGuard(attempts, who="Taxon's self-test"):
        with pytest.raises(OSError, match="self-test refused"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)
        with pytest.raises(OSError, match="self-test refused"):
            socket.getaddrinfo("example.org", 443)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
            sock.connect(("192.0.2.1", 80))
        left, right = socket.socketpair(socket.AF_UNIX)  # local sockets still work
        with left, right:
            left.sendall(b"ok")
            assert right.recv(2) == b"ok"
    assert len(attempts) == 3 and "example.org" in attempts[1]
    context = selftest.Context(network_attempts=attempts)
    with pytest.raises(selftest.CheckFailed, match="192.0.2.1"):
        selftest.check_no_network(context)
    assert no_network == []  # the guard caught them before the suite's guard saw anything
    assert socket.create_connection is not selftest.NetworkGuard  # restored
