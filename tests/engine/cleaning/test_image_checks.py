"""Image checks: each finds what was planted and stays silent on clean data; the
near-duplicate search equals brute force; features are cached and NaN for bad files."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cleaning import image_checks, image_facts, image_file_checks, near_duplicates
from engine.cleaning.findings import Finding
from engine.core.jobs import Cancelled, CancelToken
from engine.core.workers import DecodePool
from engine.data import image_pool
from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.data.images import MSG_CORRUPT, MSG_EMPTY, MSG_NOT_IMAGE
from engine.models import image_features
from tests.helpers.synthetic import natural  # noqa: E402

CLASSES = ("circles", "boxes", "stripes")


def dataset_of(rows: list[tuple[Path, str]]) -> Dataset:
    frame = make_frame([str(path) for path, _label in rows], [label for _path, label in rows])
    return Dataset("image", frame, DatasetSource("folder", str(rows[0][0].parent)))


@pytest.fixture(scope="module")
def clean_rows(tmp_path_factory) -> list[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("clean")
    rows = []
    for seed in range(42):
        path = folder / f"img{seed:02d}.jpg"
        natural(seed, 160, 120).save(path, quality=90)
        rows.append((path, CLASSES[seed % 3]))
    return rows


@pytest.fixture(scope="module")
def planted(tmp_path_factory, clean_rows):
    """The clean set plus one of each problem; returns the dataset and a name -> row id map."""
    folder = clean_rows[0][0].parent
    extra = tmp_path_factory.mktemp("planted")
    rows = list(clean_rows)
    ids: dict[str, int] = {}

    def add(name: str, path: Path, label: str) -> None:
        ids[name] = len(rows)
        rows.append((path, label))

    def label_of(seed: int) -> str:
        return CLASSES[seed % 3]

    shutil.copy(folder / "img00.jpg", extra / "copy_of_00.jpg")
    add("exact", extra / "copy_of_00.jpg", label_of(0))
    source = Image.open(folder / "img01.jpg")
    source.resize((96, 72), Image.Resampling.BICUBIC).save(extra / "small_01.png")
    add("resized", extra / "small_01.png", label_of(1))
    Image.open(folder / "img02.jpg").save(extra / "q40_02.jpg", quality=40)
    add("recompressed", extra / "q40_02.jpg", label_of(2))
    Image.open(folder / "img03.jpg").crop((5, 2, 158, 117)).save(
        extra / "crop_03.jpg", quality=90
    )  # ≤ 4 % off
    add("cropped", extra / "crop_03.jpg", label_of(3))
    shutil.copy(folder / "img04.jpg", extra / "relabelled_04.jpg")
    add("relabelled", extra / "relabelled_04.jpg", label_of(5))  # a different class
    natural(100, 16, 16).save(extra / "tiny.png")
    add("tiny", extra / "tiny.png", "circles")
    natural(101, 1000, 100).save(extra / "banner.jpg", quality=90)
    add("banner", extra / "banner.jpg", "boxes")
    buffer = io.BytesIO()
    natural(102).save(buffer, "JPEG", quality=90)
    (extra / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    add("truncated", extra / "truncated.jpg", "boxes")
    (extra / "empty.jpg").write_bytes(b"")
    add("empty", extra / "empty.jpg", "boxes")
    (extra / "notes.png").write_text("these are my notes, not a picture\n", encoding="utf-8")
    add("text", extra / "notes.png", "stripes")
    return dataset_of(rows), ids


def run(check, dataset: Dataset) -> list[Finding]:
    findings = check(dataset, lambda *args: None, CancelToken())
    for finding in findings:  # every finding renders and round-trips
        finding.title.text(), finding.explanation.text(), finding.fix.description.text()
        assert Finding.from_json(finding.to_json()) == finding
    return findings


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# ---------------------------------------------------------------- the checks


def test_clean_images_give_no_findings(clean_rows):
    dataset = dataset_of(clean_rows)
    for kind, check in image_checks.IMAGE_CHECK_LIST:
        assert run(check, dataset) == [], kind


def test_unreadable_files_are_named_with_their_reason(planted):
    dataset, ids = planted
    finding = only(run(image_file_checks.check_unreadable, dataset))
    assert finding.severity == "error"
    assert finding.row_ids == (ids["truncated"], ids["empty"], ids["text"])
    assert finding.fix.kind == "drop_rows" and finding.fix.params["row_ids"] == list(
        finding.row_ids
    )
    assert (finding.stats["corrupt"], finding.stats["empty"], finding.stats["not_image"]) == (
        1,
        1,
        1,
    )
    facts = image_facts.image_facts(dataset)
    reasons = {ids[n]: facts.error[ids[n]] for n in ("truncated", "empty", "text")}
    assert reasons == {
        ids["truncated"]: MSG_CORRUPT,
        ids["empty"]: MSG_EMPTY,
        ids["text"]: MSG_NOT_IMAGE,
    }
    shown = {row["row_id"]: row["reason"] for row in finding.preview}
    assert "notes.png" in shown[ids["text"]] and "empty.jpg" in shown[ids["empty"]]


def test_exact_copies_with_the_same_label(planted):
    dataset, ids = planted
    finding = only(run(image_checks.check_exact_duplicates, dataset))
    assert finding.groups == ((0, ids["exact"]),)
    assert finding.fix.kind == "keep_one" and finding.fix.params["groups"] == [[0, ids["exact"]]]


def test_near_copies_resized_recompressed_and_cropped(planted):
    dataset, ids = planted
    finding = only(run(image_checks.check_near_duplicates, dataset))
    assert sorted(finding.groups) == [
        (1, ids["resized"]),
        (2, ids["recompressed"]),
        (3, ids["cropped"]),
    ]
    assert finding.stats["extra_rows"] == 3 and finding.fix.kind == "keep_one"


def test_same_picture_under_another_label_is_a_conflict(planted):
    dataset, ids = planted
    finding = only(run(image_checks.check_conflicting_labels, dataset))
    assert finding.severity == "error"
    assert finding.groups == ((4, ids["relabelled"]),)
    # One row each way: no majority, so both rows go.
    assert finding.fix.params["row_ids"] == [4, ids["relabelled"]]


def test_conflict_keeps_the_majority_label(clean_rows, tmp_path):
    source, label = clean_rows[6]
    assert label == "circles"
    shutil.copy(source, tmp_path / "copy.jpg")
    Image.open(source).resize((120, 90)).save(tmp_path / "small.png")  # a near copy
    rows = [*clean_rows, (tmp_path / "copy.jpg", "circles"), (tmp_path / "small.png", "boxes")]
    finding = only(run(image_checks.check_conflicting_labels, dataset_of(rows)))
    n = len(clean_rows)
    assert finding.groups == ((6, n, n + 1),)
    assert finding.fix.params["row_ids"] == [n + 1]  # "circles" has 2 of 3 rows
    assert finding.stats["groups_without_majority"] == 0


def test_small_and_oddly_shaped_images(planted):
    dataset, ids = planted
    small = only(run(image_file_checks.check_too_small, dataset))
    assert small.row_ids == (ids["tiny"],) and small.severity == "warning"
    assert (small.preview[0]["width"], small.preview[0]["height"]) == (16, 16)
    wide = only(run(image_file_checks.check_extreme_aspect, dataset))
    assert wide.row_ids == (ids["banner"],) and wide.severity == "info"


def test_files_are_read_once_per_session(planted, monkeypatch):
    dataset, _ids = planted
    image_facts.image_facts(dataset)
    calls: list[int] = []
    real = image_facts.map_files

    def spy(work, paths, *args, **kwargs):
        calls.append(len(paths))
        return real(work, paths, *args, **kwargs)

    monkeypatch.setattr(image_facts, "map_files", spy)
    smaller = dataset.with_frame(dataset.frame.iloc[5:])  # as after a fix: a new frame
    facts = image_facts.image_facts(smaller)
    assert facts.readable.sum() == len(smaller) - 3
    assert calls == [0]  # nothing is read again, not even the broken files


def test_a_cancelled_check_stops(clean_rows):
    token = CancelToken()
    token.cancel()
    fresh = dataset_of(list(reversed(clean_rows)))
    with pytest.raises(Cancelled):
        image_file_checks.check_unreadable(fresh, lambda *a: None, token)


def crash_on_boom(paths: list[str]) -> list[str]:
    """Stands in for a native decoder crash: the worker process dies."""
    for path in paths:
        if path.endswith("boom"):
            os._exit(3)
    return [f"ok {path}" for path in paths]


def test_a_crashing_file_fails_alone():
    paths = [f"file{i}" for i in range(7)]
    paths[2] = "boom"
    pool = DecodePool(2)
    try:
        results = image_pool.map_files(
            crash_on_boom,
            paths,
            lambda *a: None,
            CancelToken(),
            "",
            lambda path: f"crashed {path}",
            pool=pool,
            chunk_size=2,
        )
    finally:
        pool.close()
    assert results == [f"crashed {p}" if p == "boom" else f"ok {p}" for p in paths]


# ---------------------------------------------------------------- the search


@pytest.mark.parametrize("max_distance", [0, 3, 8, 10, 12])
def test_hash_search_equals_brute_force(max_distance):
    rng = np.random.default_rng(max_distance)
    hashes = rng.integers(0, 2**63, 3000, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    hashes |= rng.integers(0, 2, 3000).astype(np.uint64)
    for i in range(0, 3000, 7):  # plant neighbours at every distance up to the limit + 2
        flips = rng.choice(64, size=int(rng.integers(0, max_distance + 3)), replace=False)
        hashes[i + 1] = hashes[i] ^ np.uint64(sum(1 << int(b) for b in flips))
    hashes[100:110] = hashes[99]  # a cluster of identical hashes
    found = near_duplicates.hamming_pairs(hashes, max_distance)
    expected = near_duplicates.brute_force_pairs(hashes, max_distance)
    assert len(expected) > 50
    np.testing.assert_array_equal(found, expected)


def test_components_join_chains():
    pairs = np.array([[0, 1], [1, 2], [4, 5]])
    groups = near_duplicates.components(7, pairs)
    assert groups[0] == groups[1] == groups[2] and groups[4] == groups[5]
    assert len({groups[0], groups[3], groups[4], groups[6]}) == 4


# ---------------------------------------------------------------- features


def test_features_are_cached_and_nan_for_bad_files(planted, monkeypatch):
    dataset, ids = planted
    paths = [str(dataset.frame["item"][i]) for i in (0, 1, ids["exact"], ids["text"])]
    paths.append(paths[0] + ".missing")
    first = image_features.image_features(paths)
    assert first.shape == (5, image_features.FEATURE_DIM) and first.dtype == np.float32
    assert np.isfinite(first[:3]).all() and np.isnan(first[3:]).all()
    np.testing.assert_array_equal(first[0], first[2])  # identical files, computed once
    assert not np.allclose(first[0], first[1])

    def no_decoding(*args, **kwargs):
        raise AssertionError("cached features were computed again")

    monkeypatch.setattr(image_features, "map_files", no_decoding)
    again = image_features.image_features(paths)
    np.testing.assert_array_equal(again, first)
    cached = image_features.cached_features([None, "0" * 32])
    assert np.isnan(cached).all()


def test_cached_features_do_not_change_the_near_pairs(planted):
    """Features used to add pairs only when already cached: a cold and a warm cache
    gave different findings. The decision now looks at the images alone."""
    dataset, ids = planted
    subset = dataset.with_frame(dataset.frame.iloc[[0, 1, 2, ids["resized"], ids["exact"]]])
    cold = image_facts.compute_facts(subset.frame).near_pairs()
    image_features.image_features(list(subset.frame["item"]))  # now cached
    warm = image_facts.compute_facts(subset.frame.copy()).near_pairs()
    np.testing.assert_array_equal(cold[0], warm[0])
    assert cold[1] == warm[1] and len(cold[0]) == 1
