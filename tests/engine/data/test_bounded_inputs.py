"""Whatever the user points Taxon at, a command ends and stays within a couple of GB.

A 256-byte 60000x1 PNG made ``classify`` allocate 16 GB; ``/dev/zero`` or a FIFO in
a table, as the table or as ``--text-file`` hung forever; hard links named on the
command line collapsed into one result; ``.dib`` files were listed but refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.jobs import UserError
from engine.core.regular_files import MSG_NOT_REGULAR, NotRegularFileError
from engine.data import images
from engine.data.files import iter_image_files
from engine.data.image_pool import file_digest, fingerprint
from engine.data.images import (
    ImageReadError,
    decode_for_model,
    load_rgb,
    make_thumbnail,
    verify_image,
)
from engine.data.tables.table_io import read_table
from engine.data.text_inputs import MSG_TOO_BIG, read_text_file
from engine.models.contract import Classifier
from engine.models.inference import classify_images

ROOT = Path(__file__).resolve().parents[3]
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")


class _Constant(Classifier):
    """Two labels, always the same answer: enough to see one result per input."""

    name = "constant"
    labels = ["a", "b"]

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        return np.tile([0.75, 0.25], (len(pixels), 1))


def strip(tmp_path: Path, width: int, height: int) -> Path:
    path = tmp_path / f"strip-{width}x{height}.png"
    Image.new("L", (width, height), 128).save(path, optimize=True)
    return path


# --------------------------------------------------------------------------- long and thin


def test_long_thin_images_are_refused_with_their_size(tmp_path):
    path = strip(tmp_path, 60000, 1)
    assert path.stat().st_size < 1024
    with pytest.raises(ImageReadError) as caught:
        decode_for_model(path)
    assert caught.value.msgid == images.MSG_TOO_THIN
    assert "60000×1" in caught.value.message and "too long and thin" in caught.value.message


def test_long_thin_refusal_is_a_per_file_result(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (300, 200), (200, 30, 30)).save(good)
    results = classify_images(_Constant(), [strip(tmp_path, 20000, 1), good])
    assert "too long and thin" in results[0].error
    assert results[1].error is None and results[1].predictions[0].label == "a"


def test_moderate_panoramas_still_open(tmp_path):
    path = tmp_path / "panorama.png"
    Image.new("RGB", (2400, 200), (0, 90, 200)).save(path)  # 12:1
    assert decode_for_model(path).pixels.shape == (224, 224, 3)


def test_thin_images_still_get_thumbnails(tmp_path):
    thumb = make_thumbnail(load_rgb(strip(tmp_path, 20000, 1), target_min_side=96), 96)
    assert thumb.size == (96, 1)


_MEMORY_SCRIPT = """
import json, resource, sys
from engine.models.image_features import UNDECODABLE, decode_files
from engine.data.image_pool import fingerprint
from engine.data.images import (
    ImageReadError, decode_for_model, load_rgb, make_thumbnail, verify_image,
)

def features(path):
    if decode_files([path])[0] is UNDECODABLE:
        raise ImageReadError("undecodable", path)

outcomes = []
for path in sys.argv[1:]:
    for name, work in [("classify", decode_for_model), ("features", features),
                       ("thumbnail", lambda p: make_thumbnail(load_rgb(p, 128))),
                       ("inspect", fingerprint), ("training", verify_image)]:
        try:
            work(path)
            outcomes.append([name, "ok"])
        except ImageReadError as error:
            outcomes.append([name, error.msgid])
def peak_kb():
    # VmHWM is this program's own peak; ru_maxrss would also count the parent's peak
    # before the fork (Linux keeps it across exec), which is the whole test run's.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

print(json.dumps({"peak_kb": peak_kb(),
                  "outcomes": outcomes}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX")
@pytest.mark.timeout(120)
def test_every_decode_path_stays_small_on_long_thin_images(tmp_path):
    paths = [str(strip(tmp_path, 60000, 1)), str(strip(tmp_path, 20000, 1))]
    env = {**os.environ, "TAXON_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, *paths],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["peak_kb"] < 1_000_000, report  # was 16 GB (classify) and 5.6 GB (inspect)
    refused = {name for name, outcome in report["outcomes"] if outcome != "ok"}
    assert refused == {"classify", "features", "training"}, report


# --------------------------------------------------------------------------- special files


@pytest.fixture
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


@POSIX_ONLY
@pytest.mark.timeout(20)
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_by_every_reader(special, fifo, tmp_path):
    path = fifo if special == "fifo" else Path(special)
    with pytest.raises(ImageReadError) as caught:
        load_rgb(path)
    assert caught.value.msgid == MSG_NOT_REGULAR
    assert "is not a regular file" in caught.value.message
    with pytest.raises(ImageReadError):
        verify_image(path)  # training's pre-check
    with pytest.raises(NotRegularFileError):
        file_digest(str(path))  # inspect's duplicate check and the feature cache
    assert fingerprint(str(path)).error == MSG_NOT_REGULAR


@POSIX_ONLY
@pytest.mark.timeout(20)
def test_classify_reports_a_fifo_and_dev_zero_and_goes_on(fifo, tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 64), (0, 0, 255)).save(good)
    results = classify_images(_Constant(), [fifo, "/dev/zero", good])
    assert [bool(result.error) for result in results] == [True, True, False]
    assert all("not a regular file" in result.error for result in results[:2])


@POSIX_ONLY
@pytest.mark.timeout(20)
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_special_file_as_the_table_is_refused(special, fifo):
    path = fifo if special == "fifo" else Path(special)
    with pytest.raises(UserError) as caught:
        read_table(path)
    assert caught.value.msgid == MSG_NOT_REGULAR


@POSIX_ONLY
@pytest.mark.timeout(20)
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_special_file_as_text_file_is_refused(special, fifo):
    path = fifo if special == "fifo" else Path(special)
    text_input = read_text_file(path)
    assert text_input.text is None
    assert "not a regular file" in text_input.error.text()


def test_text_file_limit_counts_bytes_read_not_the_claimed_size(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * (5 * 1024 * 1024 + 1))
    monkeypatch.setattr(os.path, "getsize", lambda name: 0)  # what a device reports
    assert read_text_file(path).error.msgid == MSG_TOO_BIG


@POSIX_ONLY
@pytest.mark.timeout(20)
def test_folder_walks_skip_fifos(fifo, tmp_path):
    (tmp_path / "real.jpg").write_bytes(b"x")
    assert [path.name for path in iter_image_files([tmp_path])] == ["real.jpg"]


# --------------------------------------------------------------------------- names and formats


def test_every_name_given_gets_its_own_result(tmp_path):
    original = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (0, 128, 0)).save(original)
    links = []
    for index in range(5):
        link = tmp_path / f"link-{index}.png"
        os.link(original, link)
        links.append(str(link))
    given = [str(original), str(original), *links]
    results = classify_images(_Constant(), list(map(str, iter_image_files(given))))
    assert [result.input for result in results] == given
    assert all(result.error is None for result in results)


def test_a_folder_walk_still_lists_each_file_once(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    os.link(tmp_path / "a.png", tmp_path / "b.png")
    assert len(list(iter_image_files([tmp_path, tmp_path]))) == 1


def test_dib_files_open(tmp_path):
    path = tmp_path / "clip.dib"
    Image.new("RGB", (20, 10), (10, 200, 30)).save(path)  # Pillow writes a headerless DIB
    assert [found.name for found in iter_image_files([tmp_path])] == ["clip.dib"]
    assert load_rgb(path).getpixel((5, 5)) == (10, 200, 30)
