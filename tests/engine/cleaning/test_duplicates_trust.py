"""Duplicates a user can trust: distinct handwritten digits are never "the same picture",
real copies of real photos are found, the kept copy is the sensible original, the
findings do not depend on the feature cache, and a second check after the fix finds
nothing new. ``clean`` without ``--fix`` removes only what is provably repeated."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageEnhance

from engine.cleaning import image_checks, near_duplicates
from engine.cleaning.findings import REVIEW_BEFORE_FIXING, SAFE_BY_DEFAULT, Finding
from engine.cleaning.plan import CleaningPlan
from engine.cleaning.run import inspect_dataset
from engine.core.jobs import CancelToken
from engine.data import image_pool
from engine.data.datasets import Dataset, DatasetSource, make_frame
from engine.models import image_features
from tests.helpers.digits import write_digits

IMAGE_KINDS = [kind for kind, _check in image_checks.IMAGE_CHECK_LIST]


def dataset_of(rows: list[tuple[Path, str]], root: Path) -> Dataset:
    frame = make_frame([str(path) for path, _label in rows], [label for _path, label in rows])
    return Dataset("image", frame, DatasetSource("folder", str(root)))


def folder_dataset(root: Path) -> Dataset:
    paths = sorted(root.rglob("*.png"))
    return dataset_of([(path, path.parent.name) for path in paths], root)


def run(check, dataset: Dataset) -> list[Finding]:
    return check(dataset, lambda *args: None, CancelToken())


def default_plan(findings: list[Finding]) -> CleaningPlan:
    """What ``clean`` without ``--fix`` applies (ui/cli/commands.py ``cmd_clean``)."""
    plan = CleaningPlan()
    for finding in findings:
        if finding.fix is not None and finding.kind not in REVIEW_BEFORE_FIXING:
            plan.add_finding(finding)
    return plan


def signature(findings: list[Finding]) -> list[tuple]:
    return [
        (f.kind, f.row_ids, f.groups, f.kept, f.fix.params if f.fix else None) for f in findings
    ]


# ---------------------------------------------------------------- digits: not duplicates


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Dataset:
    """400 of scikit-learn's digits (40 a class) as 64×64 PNGs: no two are the same scan."""
    return folder_dataset(write_digits(tmp_path_factory.mktemp("digits"), per_class=40, size=64))


def test_different_digits_are_not_near_duplicates(digits):
    found = run(image_checks.check_near_duplicates, digits)
    grouped = sum(finding.count for finding in found)
    assert grouped <= 0.02 * len(digits)  # was 1,380 of 1,797 rows
    assert run(image_checks.check_exact_duplicates, digits) == []


def test_a_three_and_an_eight_are_never_the_same_picture(digits):
    assert run(image_checks.check_conflicting_labels, digits) == []  # was one group of 1,346


def test_clean_without_fix_keeps_every_digit(digits):
    findings = inspect_dataset(digits, checks=[*IMAGE_KINDS, "label.imbalance", "label.too_few"])
    cleaned = default_plan(findings).apply(digits)
    assert len(cleaned) == len(digits)  # was "1,797 rows in, 376 out"


@pytest.mark.slow
def test_all_1797_digits_stay_apart(tmp_path):
    data = folder_dataset(write_digits(tmp_path, size=64))
    assert len(data) == 1797
    near = run(image_checks.check_near_duplicates, data)
    assert sum(finding.count for finding in near) <= 0.02 * len(data)
    assert run(image_checks.check_conflicting_labels, data) == []
    findings = inspect_dataset(data, checks=IMAGE_KINDS)
    assert len(default_plan(findings).apply(data)) == len(data)


# ---------------------------------------------------------------- real photos: copies found


def photos() -> dict[str, Image.Image]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    out = {
        name: Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        for name in ("astronaut", "coffee", "chelsea", "rocket")
    }
    out.update(china=Image.fromarray(china), flower=Image.fromarray(flower))
    return out


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def light_crop(image: Image.Image, share: float = 0.015) -> Image.Image:
    width, height = image.size
    dx, dy = int(width * share / 2), int(height * share / 2)
    return image.crop((dx, dy, width - dx, height - dy))


@pytest.fixture(scope="module")
def photo_copies(tmp_path_factory) -> tuple[Dataset, dict[str, int], Path]:
    """Six real photos, each with copies a person makes: resized and re-compressed,
    lightly cropped, brighter. Labels: the photo's name. Plus a heavy 25 % crop (a new
    picture, not a copy) of the astronaut."""
    root = tmp_path_factory.mktemp("photos")
    (root / "copies").mkdir()
    rows: list[tuple[Path, str]] = []
    ids: dict[str, int] = {}

    def add(key: str, image: Image.Image, path: Path, label: str) -> None:
        image.save(path, quality=92) if path.suffix == ".jpg" else image.save(path)
        ids[key] = len(rows)
        rows.append((path, label))

    for name, image in photos().items():
        width, height = image.size
        # The copies come first in the table: the original is kept for its path, not its row.
        add(
            f"{name}/small",
            jpeg(image.resize((width * 3 // 5, height * 3 // 5)), 50),
            root / "copies" / f"{name}-small.jpg",
            name,
        )
        add(f"{name}/crop", jpeg(light_crop(image), 85), root / "copies" / f"{name}-crop.jpg", name)
        add(
            f"{name}/bright",
            ImageEnhance.Brightness(image).enhance(1.1),
            root / "copies" / f"{name}-bright.png",
            name,
        )
        add(name, image, root / f"{name}.png", name)
    astronaut = photos()["astronaut"]
    add("detail", astronaut.crop((0, 0, 384, 384)), root / "copies" / "detail.png", "astronaut")
    return dataset_of(rows, root), ids, root


def test_copies_of_real_photos_are_found_and_the_original_kept(photo_copies):
    dataset, ids, _root = photo_copies
    finding = run(image_checks.check_near_duplicates, dataset)[0]
    names = ("astronaut", "coffee", "chelsea", "rocket", "china", "flower")
    expected = {
        (ids[name], ids[f"{name}/small"], ids[f"{name}/crop"], ids[f"{name}/bright"])
        for name in names
    }
    assert {(g[0], *sorted(g[1:])) for g in finding.groups} == expected
    assert sorted(finding.kept) == sorted(ids[name] for name in names)
    assert ids["detail"] not in finding.row_ids  # a 25 % crop is another picture
    assert finding.fix.kind == "keep_one"
    plan = CleaningPlan()
    plan.add_finding(finding)
    cleaned = plan.apply(dataset)
    kept_paths = {Path(path).name for path in cleaned.frame["item"]}
    assert kept_paths == {f"{name}.png" for name in names} | {"detail.png"}
    assert "shortest path" in finding.fix.description.text()


def test_a_second_check_after_the_fix_finds_nothing_new(photo_copies, tmp_path):
    dataset, ids, _root = photo_copies
    # An identical copy of a near copy: the fix must take it too, or it pairs with the
    # kept original on the next check.
    twin = tmp_path / "twin-of-coffee-small.jpg"
    shutil.copy(dataset.frame["item"][ids["coffee/small"]], twin)
    frame = pd.concat(
        [dataset.frame, make_frame([str(twin)], ["coffee"]).assign(row_id=len(dataset.frame))],
        ignore_index=True,
    )
    data = dataset.with_frame(frame)
    plan = CleaningPlan()
    plan.add_finding(run(image_checks.check_near_duplicates, data)[0])
    cleaned = plan.apply(data)
    assert run(image_checks.check_near_duplicates, cleaned) == []
    assert run(image_checks.check_conflicting_labels, cleaned) == []


# ---------------------------------------------------------------- which copy is kept


def test_exact_copies_keep_the_shortest_path_whatever_the_row_order(tmp_path):
    source = photos()["coffee"].resize((200, 133))
    (tmp_path / "sub").mkdir()
    paths = [
        tmp_path / "sub" / "coffee copy.png",
        tmp_path / "coffee.png",
        tmp_path / "sub" / "coffee (2).png",
    ]
    for path in paths:
        source.save(path)
    other = tmp_path / "rocket.png"
    photos()["rocket"].resize((200, 133)).save(other)
    data = dataset_of([(p, "coffee") for p in paths] + [(other, "rocket")], tmp_path)
    finding = run(image_checks.check_exact_duplicates, data)[0]
    assert finding.groups == ((1, 2, 0),)  # the kept row first, then by path
    assert finding.kept == (1,)
    plan = CleaningPlan()
    plan.add_finding(finding)
    assert plan.apply(data).frame["row_id"].tolist() == [1, 3]


def test_a_conflict_group_lists_the_agreed_label_first(tmp_path):
    source = photos()["chelsea"].resize((240, 160))
    rows = []
    for name, label in (("a.png", "dog"), ("cat-1.png", "cat"), ("cat-22.png", "cat")):
        source.save(tmp_path / name)
        rows.append((tmp_path / name, label))
    finding = run(image_checks.check_conflicting_labels, dataset_of(rows, tmp_path))[0]
    assert finding.groups == ((1, 2, 0),)  # "cat" is the majority; a.png is shorter
    assert finding.fix.params["row_ids"] == [0]


# ---------------------------------------------------------------- grouping and defaults


def test_groups_are_stars_not_chains():
    pairs = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])  # 0 ~ 1 ~ 2 ~ 3 ~ 4, nothing else
    group = near_duplicates.star_groups(6, pairs, np.arange(6))
    assert group.tolist() == [0, 0, 2, 2, -1, -1]  # components would make one group of 5
    # Every member is paired with its centre, and no two centres are a pair.
    linked = {tuple(p) for p in pairs.tolist()} | {tuple(p[::-1]) for p in pairs.tolist()}
    for node, centre in enumerate(group.tolist()):
        assert centre < 0 or centre == node or (node, centre) in linked
    centres = {c for c in group.tolist() if c >= 0} | {n for n, c in enumerate(group) if c < 0}
    assert not any((a, b) in linked for a in centres for b in centres)


def test_only_provably_identical_rows_are_removed_by_default():
    assert SAFE_BY_DEFAULT == {
        "image.unreadable",
        "image.exact_duplicates",
        "text.empty",
        "text.exact_duplicates",
    }
    for kind in (
        "image.near_duplicates",
        "image.conflicting_labels",
        "label.likely_errors",
        "label.too_few",
        "label.imbalance",
        "text.unexpected_language",
        "text.normalized_duplicates",
        "a.kind.added.later",
    ):
        assert kind in REVIEW_BEFORE_FIXING
    for kind in SAFE_BY_DEFAULT:
        assert kind not in REVIEW_BEFORE_FIXING


# ---------------------------------------------------------------- cold and warm caches


@pytest.mark.slow
def test_findings_are_the_same_with_a_cold_or_warm_feature_cache(photo_copies):
    dataset, _ids, _root = photo_copies
    paths = dataset.frame["item"].astype(str).tolist()
    digests = [image_pool.file_digest(path) for path in paths]
    assert np.isnan(image_features.cached_features(digests)).all()  # new files: cold
    cold = inspect_dataset(dataset.with_frame(dataset.frame.copy()), checks=IMAGE_KINDS)
    image_features.image_features(paths)
    assert np.isfinite(image_features.cached_features(digests)).all()  # now warm
    warm = inspect_dataset(dataset.with_frame(dataset.frame.copy()), checks=IMAGE_KINDS)
    assert signature(cold) == signature(warm)
