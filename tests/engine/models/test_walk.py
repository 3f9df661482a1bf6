"""Huge folders: the walk streams, survives loops and unreadable folders, and shards evenly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core import workers
from engine.data import files
from engine.data.files import InputFile, iter_inputs, shard_of
from engine.models.contract import Classifier
from engine.models.inference import classify_images


class TinyClassifier(Classifier):
    """Two labels from the mean brightness: no model to load, results a user can check."""

    name = "tiny"
    labels = ["dark", "bright"]
    batch_size = 4

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        bright = pixels.reshape(len(pixels), -1).mean(axis=1, keepdims=True) / 255.0
        return np.hstack([1 - bright, bright])


@pytest.fixture(scope="module")
def pool():
    decode_pool = workers.DecodePool(2)
    yield decode_pool
    decode_pool.close()


def photo(path: Path, shade: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (shade, shade, shade)).save(path)
    return path


@pytest.fixture
def looped_tree(tmp_path: Path) -> Path:
    """Images in nested folders, a symlink loop back to the top and a locked folder."""
    root = tmp_path / "photos"
    for name in ("a.jpg", "inner/b.jpg", "inner/deeper/c.jpg", "locked/d.jpg", "z.jpg"):
        photo(root / name)
    if sys.platform != "win32":
        os.symlink(root, root / "inner" / "loop")  # inner/loop -> photos
    return root


def lock(monkeypatch, name: str) -> None:
    """A folder the walk cannot list (chmod 000 does not stop root, so scandir refuses)."""
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == name:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(files.os, "scandir", scandir)


def test_walk_streams_relative_paths_sizes_and_mtimes(looped_tree):
    walk = iter_inputs([looped_tree])
    first = next(walk)  # a generator: the first file comes before the tree is read
    assert first.relative == "a.jpg" and first.size == (looped_tree / "a.jpg").stat().st_size
    assert first.mtime_ns == (looped_tree / "a.jpg").stat().st_mtime_ns
    rest = [item.relative for item in walk]
    assert rest == ["inner/b.jpg", "inner/deeper/c.jpg", "locked/d.jpg", "z.jpg"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_and_unreadable_folder_complete_with_a_per_folder_error(
    looped_tree, monkeypatch
):
    lock(monkeypatch, "locked")
    errors: list[tuple[Path, str]] = []
    found = [
        item.relative
        for item in iter_inputs(
            [looped_tree], on_folder_error=lambda folder, rel, _e: errors.append((folder, rel))
        )
    ]
    assert found == ["a.jpg", "inner/b.jpg", "inner/deeper/c.jpg", "z.jpg"]
    assert errors == [(looped_tree / "locked", "locked")]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_classify_reports_the_unreadable_folder_and_classifies_the_rest(
    looped_tree, monkeypatch, pool
):
    lock(monkeypatch, "locked")
    streamed = []
    results = classify_images(
        TinyClassifier(), [looped_tree], 1, on_result=streamed.append, pool=pool
    )
    names = [Path(result.input).name for result in results]
    assert names == ["a.jpg", "b.jpg", "c.jpg", "locked", "z.jpg"]
    locked = results[3]
    assert locked.error and "locked" in locked.error and not locked.predictions
    assert all(result.predictions for i, result in enumerate(results) if i != 3)
    assert len(streamed) == 5


def test_without_keep_results_nothing_accumulates_but_everything_streams(looped_tree, pool):
    streamed = []
    results = classify_images(
        TinyClassifier(), [looped_tree], 1, on_result=streamed.append, pool=pool, keep_results=False
    )
    assert results == []
    assert sorted(Path(r.input).name for r in streamed) == [
        "a.jpg",
        "b.jpg",
        "c.jpg",
        "d.jpg",
        "z.jpg",
    ]
    assert all(r.size and r.mtime_ns for r in streamed)  # what --resume keys on


def test_select_drops_inputs_before_any_work(looped_tree, pool):
    seen: list[InputFile] = []

    def only_inner(item: InputFile) -> bool:
        seen.append(item)
        return item.relative.startswith("inner/")

    results = classify_images(TinyClassifier(), [looped_tree], 1, select=only_inner, pool=pool)
    assert [Path(r.input).name for r in results] == ["b.jpg", "c.jpg"]
    assert {item.relative for item in seen} >= {"a.jpg", "z.jpg"}


def test_progress_reaches_the_total_of_a_streamed_run(looped_tree, pool):
    reports = []
    classify_images(TinyClassifier(), [looped_tree], 1, lambda *r: reports.append(r), pool=pool)
    assert reports[-1][:2] == (5, 5)
    assert all(total is None or done <= total for done, total, _m in reports)


def test_shards_cover_every_path_exactly_once_and_evenly():
    paths = [f"album {i // 100}/IMG_{i:05d}.jpg" for i in range(6000)]
    for count in (1, 2, 3, 7):
        parts = [[p for p in paths if shard_of(p, count) == part] for part in range(count)]
        assert sorted(sum(parts, [])) == sorted(paths)
        assert min(map(len, parts)) > 0.8 * len(paths) / count
    # The same relative path lands in the same shard whatever the separator.
    assert shard_of("a\\b.jpg".replace("\\", os.sep), 5) == shard_of(
        "a/b.jpg".replace("/", os.sep), 5
    )


def test_a_hard_link_found_twice_in_a_walk_is_classified_once(tmp_path):
    first = photo(tmp_path / "a" / "one.jpg")
    (tmp_path / "b").mkdir()
    os.link(first, tmp_path / "b" / "two.jpg")
    assert [item.relative for item in iter_inputs([tmp_path])] == ["a/one.jpg"]


def test_cancelled_image_checks_keep_the_fingerprints_already_computed(tmp_path, monkeypatch):
    from engine.cleaning import image_facts
    from engine.core.jobs import Cancelled, CancelToken

    paths = [str(photo(tmp_path / f"{i:03d}.jpg", shade=i)) for i in range(96)]
    cancel, real = CancelToken(), image_facts.remember_fingerprints

    def remember_then_cancel(prints):  # the user cancels right after the first chunk
        real(prints)
        cancel.cancel()

    monkeypatch.setattr(image_facts, "remember_fingerprints", remember_then_cancel)
    with pytest.raises(Cancelled):
        image_facts._fingerprints(paths, lambda *_r: None, cancel)
    kept = [path for path in paths if image_facts._recalled(path) is not None]
    assert 0 < len(kept) < len(paths)  # checking again starts from there
