"""Checks on the files of an image dataset: unreadable, tiny or oddly shaped images,
exact and near duplicates, and the same picture under different labels.

Every check is ``check_x(dataset, progress, cancel) -> list[Finding]`` and returns
``[]`` on clean data. They share one ``ImageFacts`` per frame (``image_facts``): the
files are read and fingerprinted once, in worker processes, whichever check asks
first, and the near-duplicate search runs once for the three checks that use it.
Rows are compared by *content*: two rows naming the same file, or two identical
files in different folders, are the same picture. The checks on one file at a time
live in ``image_file_checks``; this module compares files and lists every check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.cleaning.common import (
    conflict_finding,
    dense_groups,
    duplicate_finding,
    label_codes,
    path_preference,
)
from engine.cleaning.findings import Finding
from engine.cleaning.image_facts import ImageFacts, image_facts
from engine.cleaning.image_file_checks import (
    begin_image_check,
    check_extreme_aspect,
    check_too_small,
    check_unreadable,
)
from engine.cleaning.label_checks import label_variants
from engine.cleaning.near_duplicates import (
    COLOUR_MAX,
    DHASH_MAX,
    PHASH_MAX,
    PIXEL_MAX,
    star_groups,
)
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset

__all__ = ["IMAGE_CHECK_LIST", "ImageFacts", "image_facts"]


# ------------------------------------------------------------------ duplicates and conflicts


_KEEP_ONE_IMAGE = Nn_(
    "Keep one image of each group (the one with the shortest path) and remove {n} copy",
    "Keep one image of each group (the one with the shortest path) and remove {n} copies",
)


def check_exact_duplicates(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """Byte-identical files with the same label. Each group lists first, and the fix
    keeps, the copy with the shortest path (then the first alphabetically): the
    original is usually "cat.jpg", not "copy of cat.jpg" in a sub-folder."""
    facts, cancel = begin_image_check(
        dataset, progress, cancel, N_("Looking for identical images…")
    )
    labels, names, _missing = label_codes(dataset.frame)
    usable = np.flatnonzero(facts.readable)
    combined = facts.digest * (len(names) + 1) + (labels + 1)
    group, sizes = dense_groups(combined[usable])
    positions = usable[sizes[group] > 1]
    return duplicate_finding(
        dataset,
        combined,
        positions,
        "image.exact_duplicates",
        Nn_("{n} image is an exact copy of another", "{n} images are exact copies of others"),
        Nn_(
            "The same file content appears more than once with the same label (one group of "
            "{rows} rows), under the same or different file names. Copies give those images "
            "extra weight and can land in both the training and the test split, which makes "
            "results look better than they are.",
            "The same file content appears more than once with the same label ({groups} groups, "
            "{rows} rows), under the same or different file names. Copies give those images "
            "extra weight and can land in both the training and the test split, which makes "
            "results look better than they are.",
        ),
        _KEEP_ONE_IMAGE,
        rank=path_preference(dataset.frame),
    )


def _content_nodes(
    facts: ImageFacts, labels: np.ndarray, usable: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One node per (content, label) among ``usable`` rows: each row's node number, and
    each node's preferred row (lowest ``rank``), which stands for its exact copies."""
    span = int(labels.max()) + 2
    node, _sizes = dense_groups(facts.digest[usable] * span + (labels[usable] + 1))
    order = np.lexsort((rank[usable], node))
    best = usable[order[np.r_[True, np.diff(node[order]) != 0]]]  # row of node k, k = 0..g-1
    return node, best


def check_near_duplicates(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """Same label, nearly the same picture (resized, re-saved, slightly cropped), not
    byte-identical. Groups are stars around the copy with the shortest path, which
    the fix keeps; its own identical files are left to ``image.exact_duplicates``,
    the near copies go with all their identical files, so nothing is left for a
    second check to find."""
    facts, cancel = begin_image_check(
        dataset, progress, cancel, N_("Looking for near-identical images…")
    )
    pairs, search = facts.near_pairs(cancel)
    if len(pairs) == 0:
        return []
    frame = dataset.frame
    labels, _names, _missing = label_codes(frame)
    usable = np.flatnonzero(facts.readable)
    rank = path_preference(frame)
    node, best = _content_nodes(facts, labels, usable, rank)
    nodes = pd.DataFrame(
        {"content": facts.digest[best], "label": labels[best], "node": np.arange(len(best))}
    )
    # Pairs are of content codes; link the nodes that share a label across a pair.
    edges = pd.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1]})
    edges = edges.merge(nodes, left_on="a", right_on="content")
    edges = edges.merge(
        nodes, left_on=["b", "label"], right_on=["content", "label"], suffixes=("", "_b")
    )
    if edges.empty:
        return []
    star = star_groups(len(best), edges[["node", "node_b"]].to_numpy(dtype=np.int64), rank[best])
    row_star = star[node]
    centre_copy = (row_star == node) & (usable != best[node])  # exact copies of a centre
    chosen = (row_star >= 0) & ~centre_copy
    group_of = np.full(len(frame), -1, dtype=np.int64)
    group_of[usable] = row_star
    return duplicate_finding(
        dataset,
        group_of,
        usable[chosen],
        "image.near_duplicates",
        Nn_("{n} image is nearly the same as another", "{n} images are nearly the same as others"),
        Nn_(
            "These images have the same label and look the same apart from size, "
            "compression or a slight crop (one group of {rows} rows). Near copies give an "
            "image extra weight and, split between training and testing, make results look "
            "better than they are.",
            "These images have the same label and look the same apart from size, "
            "compression or a slight crop ({groups} groups, {rows} rows). Near copies give an "
            "image extra weight and, split between training and testing, make results look "
            "better than they are.",
        ),
        _KEEP_ONE_IMAGE,
        {
            "phash_max": PHASH_MAX,
            "dhash_max": DHASH_MAX,
            "colour_max": COLOUR_MAX,
            "pixel_max": PIXEL_MAX,
            **search,
        },
        rank=rank,
    )


def _merged_labels(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Label codes with spelling variants merged ("Cat " counts as "cat"): a picture is
    only contradictory over genuinely different labels (``label.variants`` has the rest)."""
    labels, names, _missing = label_codes(frame)
    counts = np.bincount(labels[labels >= 0], minlength=len(names))
    mapping = label_variants(dict(zip(names, counts.tolist(), strict=True)))
    if not mapping:
        return labels, names
    code = {name: i for i, name in enumerate(names)}
    remap = np.arange(len(names))
    for spelling, canonical in mapping.items():
        remap[code[spelling]] = code[canonical]
    return np.where(labels >= 0, remap[np.maximum(labels, 0)], -1), names


def _picture_groups(facts: ImageFacts, pairs: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """A "same picture" number per content code: identical files share their content;
    near copies share the star they belong to (``star_groups``: no chains, so a "3"
    and an "8" never end up together through a row of similar digits)."""
    contents = len(facts.representatives)
    preferred = np.full(contents, np.iinfo(np.int64).max, dtype=np.int64)
    usable = np.flatnonzero(facts.readable)
    np.minimum.at(preferred, facts.digest[usable], rank[usable])
    star = star_groups(contents, pairs, preferred)
    return np.where(star >= 0, star, np.arange(contents))


def check_conflicting_labels(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """The same or a nearly identical picture under different labels (``conflict_finding``
    says what the fix keeps). Each group lists its rows by path preference."""
    facts, cancel = begin_image_check(
        dataset, progress, cancel, N_("Looking for images with contradictory labels…")
    )
    pairs, _search = facts.near_pairs(cancel)
    frame = dataset.frame
    labels, _names = _merged_labels(frame)
    rank = path_preference(frame)
    same_picture = _picture_groups(facts, pairs, rank)
    usable = np.flatnonzero(facts.readable & (labels >= 0))
    key = np.full(len(frame), -1, dtype=np.int64)
    key[usable] = same_picture[facts.digest[usable]]
    return conflict_finding(
        dataset,
        key,
        usable,
        labels,
        kind="image.conflicting_labels",
        title=Nn_(
            "{n} image appears with different labels",
            "{n} images appear with different labels",
        ),
        explanation=(
            N_(
                "The same image, or a copy of it that is only resized, re-compressed or "
                "slightly cropped, is labelled differently in {rows} rows. A model cannot be "
                "right about both, and such contradictions usually mean labelling mistakes. "
                "The suggested fix keeps the label most of a group's rows agree on and "
                "removes the others."
            ),
            Nn_(
                "The same image, or a copy of it that is only resized, re-compressed or "
                "slightly cropped, is labelled differently in {rows} rows. A model cannot be "
                "right about both, and such contradictions usually mean labelling mistakes. "
                "The suggested fix keeps the label most of a group's rows agree on and "
                "removes the others; in {no_majority} group no label has a majority, so it "
                "removes that whole group.",
                "The same image, or a copy of it that is only resized, re-compressed or "
                "slightly cropped, is labelled differently in {rows} rows. A model cannot be "
                "right about both, and such contradictions usually mean labelling mistakes. "
                "The suggested fix keeps the label most of a group's rows agree on and "
                "removes the others; in {no_majority} groups no label has a majority, so it "
                "removes those groups whole.",
            ),
        ),
        rank=rank,
    )


#: ``(finding kind, check)`` in the order they run; ``engine.cleaning.run`` registers them.
IMAGE_CHECK_LIST = [
    ("image.unreadable", check_unreadable),
    ("image.too_small", check_too_small),
    ("image.extreme_aspect", check_extreme_aspect),
    ("image.exact_duplicates", check_exact_duplicates),
    ("image.near_duplicates", check_near_duplicates),
    ("image.conflicting_labels", check_conflicting_labels),
]
