"""Checks on each image file on its own: unreadable, very small, or oddly shaped.

Split out of ``image_checks`` (which holds the checks that compare files and the
list of all image checks) because these look at one file at a time and need no
duplicate search. Each check starts with ``begin_image_check``, which the
comparing checks share, so every image check reads the frame's ``ImageFacts``
the same way.
"""

from __future__ import annotations

import numpy as np

from engine.cleaning.common import begin, plural, preview_rows, row_ids_at
from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.image_facts import MSG_CRASHED, ImageFacts, image_facts
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset
from engine.data.images import (
    MAX_RELIABLE_ASPECT,
    MIN_RELIABLE_SIDE,
    MSG_CORRUPT,
    MSG_EMPTY,
    MSG_NOT_IMAGE,
    MSG_TOO_LARGE,
)


def begin_image_check(
    dataset: Dataset, progress: Progress, cancel: CancelToken | None, message: str
) -> tuple[ImageFacts, CancelToken]:
    """Start an image check: show ``message``, then the frame's shared ``ImageFacts``."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, message)
    return image_facts(dataset, progress, cancel), cancel


# ------------------------------------------------------------------ single-file problems


def check_unreadable(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    facts, cancel = begin_image_check(dataset, progress, cancel, N_("Reading images…"))
    positions = np.flatnonzero(~facts.readable)
    if len(positions) == 0:
        return []
    n = len(positions)
    reasons = facts.error[positions]
    counts = {
        name: int(np.sum(reasons == msgid))
        for name, msgid in (
            ("corrupt", MSG_CORRUPT),
            ("empty", MSG_EMPTY),
            ("not_image", MSG_NOT_IMAGE),
            ("too_large", MSG_TOO_LARGE),
            ("crashed", MSG_CRASHED),
        )
    }
    counts["other"] = n - sum(counts.values())
    ids = row_ids_at(dataset.frame, positions)
    shown = positions[:5]
    return [
        Finding(
            kind="image.unreadable",
            severity="error",
            title=plural(*Nn_("{n} image cannot be opened", "{n} images cannot be opened"), n),
            explanation=Message(
                N_(
                    "Taxon cannot read these files, so a model cannot learn from "
                    "them. Damaged or incomplete: {corrupt}. Empty: {empty}. Not an "
                    "image in a supported format: {not_image}. Too large to open "
                    "safely: {too_large}. Crashed the image decoder: {crashed}. "
                    "Missing or not readable: {other}. Removing the rows leaves the "
                    "files themselves untouched."
                ),
                counts,
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(
                    *Nn_(
                        "Remove {n} row whose image cannot be opened",
                        "Remove {n} rows whose images cannot be opened",
                    ),
                    n,
                ),
            ),
            preview=preview_rows(dataset.frame, shown, reason=[facts.error_text[i] for i in shown]),
            stats={"rows": n, **counts},
        )
    ]


def check_too_small(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    facts, cancel = begin_image_check(dataset, progress, cancel, N_("Checking image sizes…"))
    small = facts.readable & (np.minimum(facts.width, facts.height) < MIN_RELIABLE_SIDE)
    positions = np.flatnonzero(small)
    if len(positions) == 0:
        return []
    n = len(positions)
    ids = row_ids_at(dataset.frame, positions)
    return [
        Finding(
            kind="image.too_small",
            severity="warning",
            title=plural(*Nn_("{n} image is very small", "{n} images are very small"), n),
            explanation=Message(
                N_(
                    "These images are narrower or lower than {min_side} pixels. The "
                    "model enlarges every image to {input_side} pixels, so such a "
                    "small one turns into a blur with little to learn from. They "
                    "are often icons or thumbnails saved by mistake."
                ),
                {"min_side": MIN_RELIABLE_SIDE, "input_side": 224},
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(*Nn_("Remove {n} very small image", "Remove {n} very small images"), n),
            ),
            preview=preview_rows(
                dataset.frame,
                positions,
                width=facts.width[positions[:5]],
                height=facts.height[positions[:5]],
            ),
            stats={"rows": n, "min_side": MIN_RELIABLE_SIDE},
        )
    ]


def check_extreme_aspect(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    facts, cancel = begin_image_check(dataset, progress, cancel, N_("Checking image shapes…"))
    longer = np.maximum(facts.width, facts.height).astype(np.float64)
    shorter = np.maximum(np.minimum(facts.width, facts.height), 1).astype(np.float64)
    positions = np.flatnonzero(facts.readable & (longer / shorter > MAX_RELIABLE_ASPECT))
    if len(positions) == 0:
        return []
    n = len(positions)
    ids = row_ids_at(dataset.frame, positions)
    return [
        Finding(
            kind="image.extreme_aspect",
            severity="info",
            title=plural(
                *Nn_(
                    "{n} image is very wide or very tall", "{n} images are very wide or very tall"
                ),
                n,
            ),
            explanation=Message(
                N_(
                    "The longer side of these images is more than {ratio} times the "
                    "shorter one. The model looks at a square cut from the middle "
                    "of each image, so most of such an image is never seen. Check "
                    "that they are what you meant to include (panoramas, banners, "
                    "strips of several images)."
                ),
                {"ratio": int(MAX_RELIABLE_ASPECT)},
            ),
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(
                    *Nn_(
                        "Remove {n} very wide or tall image", "Remove {n} very wide or tall images"
                    ),
                    n,
                ),
            ),
            preview=preview_rows(
                dataset.frame,
                positions,
                width=facts.width[positions[:5]],
                height=facts.height[positions[:5]],
            ),
            stats={"rows": n, "max_aspect": MAX_RELIABLE_ASPECT},
        )
    ]
