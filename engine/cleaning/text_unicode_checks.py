"""Checks for broken or unusual Unicode in a text dataset: garbled characters
(mojibake), invisible characters and compatibility characters.

Split out of ``text_checks`` because these three share one purpose and one fix:
each finds texts that ``normalize_text`` repairs, and previews every text before
and after that repair, so they use one finding builder (``_repair_finding``).
``text_checks`` lists them in ``TEXT_CHECKS`` with the other text checks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.cleaning.common import begin, plural, preview_rows, row_ids_at
from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.text_facts import text_facts
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset
from engine.data.textnorm import has_mojibake, normalize_text, visible


def _repair_finding(
    dataset: Dataset,
    positions: np.ndarray,
    kind: str,
    severity: str,
    title: Message,
    explanation: Message,
    fix: Message,
    shown=None,
) -> list[Finding]:
    """A finding whose fix is ``normalize_text``, previewing each text before → after."""
    if len(positions) == 0:
        return []
    ids = row_ids_at(dataset.frame, positions)
    preview = preview_rows(
        dataset.frame, positions, before=shown or (lambda s: s), after=normalize_text
    )
    return [
        Finding(
            kind=kind,
            severity=severity,
            title=title,
            explanation=explanation,
            row_ids=ids,
            fix=Fix("normalize_text", {"row_ids": list(ids)}, fix),
            preview=preview,
            stats={"rows": len(positions)},
        )
    ]


def check_mojibake(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for garbled characters…"))
    facts = text_facts(dataset)
    hinted = np.flatnonzero(facts.normalized.mojibake_hint)  # few: confirm with ftfy
    values = facts.text.take(pa.array(hinted)).to_pylist()
    verdict = {value: has_mojibake(value) for value in set(values)}
    positions = hinted[np.fromiter((verdict[v] for v in values), dtype=bool, count=len(values))]
    n = len(positions)
    return _repair_finding(
        dataset,
        positions,
        "text.mojibake",
        "warning",
        plural(*Nn_("{n} text has garbled characters", "{n} texts have garbled characters"), n),
        Message(
            N_(
                'Sequences such as "Ã©" instead of "é" mean the text was saved in one '
                "encoding and read in another. The garbled spelling makes the same word "
                "look different to a model."
            )
        ),
        plural(*Nn_("Repair the text of {n} row", "Repair the text of {n} rows"), n),
    )


def check_invisible_chars(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Looking for invisible characters…"))
    facts = text_facts(dataset)
    positions = np.flatnonzero(facts.normalized.invisible & ~facts.blank)
    n = len(positions)
    return _repair_finding(
        dataset,
        positions,
        "text.invisible_chars",
        "warning",
        plural(
            *Nn_(
                "{n} text contains invisible characters", "{n} texts contain invisible characters"
            ),
            n,
        ),
        Message(
            N_(
                "Zero-width spaces, direction marks and control characters cannot be "
                "seen, but they make identical texts differ and can confuse a model."
            )
        ),
        plural(
            *Nn_(
                "Remove the invisible characters from {n} row",
                "Remove the invisible characters from {n} rows",
            ),
            n,
        ),
        shown=visible,
    )


def check_unnormalized(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Checking Unicode normalisation…"))
    facts = text_facts(dataset)
    positions = np.flatnonzero(facts.normalized.nfkc)
    n = len(positions)
    return _repair_finding(
        dataset,
        positions,
        "text.unnormalized",
        "info",
        plural(
            *Nn_(
                "{n} text uses compatibility characters", "{n} texts use compatibility characters"
            ),
            n,
        ),
        Message(
            N_(
                'Full-width letters, ligatures such as "ﬁ" and similar variants look like '
                "ordinary characters but are stored differently. Unicode normalisation "
                "(NFKC) turns them into their ordinary form."
            )
        ),
        plural(*Nn_("Normalise the text of {n} row", "Normalise the text of {n} rows"), n),
    )
