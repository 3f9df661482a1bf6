"""Taxon writes only into its own folders, and only its own messages reach the terminal.

ONNX Runtime used to create a device id and a telemetry queue under
``~/.cache/Microsoft/DeveloperTools`` on import; Pillow's warnings about odd files
were printed to stderr, hundreds of lines over a folder, instead of the log.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from engine.core.offline import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _clean_environment(home: Path) -> dict[str, str]:
    """The test's environment with a fresh HOME and none of the switches Taxon must set."""
    env = {key: value for key, value in os.environ.items() if key not in OFFLINE_ENVIRONMENT}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
    )
    return env  # TAXON_HOME stays: the suite's folder, with its cached ONNX export


def _classify(env: dict[str, str], *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", "classify", *map(str, paths), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _photo(path: Path) -> Path:
    Image.new("RGB", (320, 240), (30, 120, 200)).save(path)
    return path


@pytest.mark.timeout(600)
def test_classifying_writes_nothing_outside_taxons_folders(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = _classify(_clean_environment(home), _photo(tmp_path / "photo.jpg"))
    assert result.returncode == 0, result.stderr
    assert not (home / ".cache" / "Microsoft").exists()  # ONNX Runtime's telemetry
    assert sorted(str(path.relative_to(home)) for path in home.rglob("*")) == []


def _warning_jpeg(path: Path) -> Path:
    """A fine JPEG whose EXIF block has a tag pointing past its end: Pillow warns."""
    tiff = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHII", 270, 2, 100, 1000)
        + struct.pack("<I", 0)
    )
    Image.new("RGB", (64, 48), (10, 20, 30)).save(path, exif=b"Exif\x00\x00" + tiff)
    return path


@pytest.mark.timeout(600)
@pytest.mark.parametrize("count", [1, 3])  # one file decodes in-process, more in workers
def test_decoder_warnings_go_to_the_log_not_the_terminal(tmp_path, count):
    folder = tmp_path / "odd"
    folder.mkdir()
    for index in range(count):
        _warning_jpeg(folder / f"odd-{index}.jpg")
    log = Path(os.environ["TAXON_HOME"]) / "logs" / "taxon.log"
    before = log.read_text(encoding="utf-8") if log.exists() else ""
    home = tmp_path / "home"
    home.mkdir()
    result = _classify(_clean_environment(home), folder if count > 1 else folder / "odd-0.jpg")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Skipping tag" not in result.stderr, result.stderr
    written = log.read_text(encoding="utf-8")[len(before) :]
    assert "Tag data larger than file" in written
