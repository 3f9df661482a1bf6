"""Writing a cleaned copy: the data, the plan that made it and its report, all at once.

The command line's ``clean --out`` and the Health page's "Save cleaned data" both
come here, so both refuse a folder that holds files or overlaps the dataset, and
both leave either the whole copy or nothing (``engine.core.output_folder``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from engine.cleaning.findings import Finding
from engine.cleaning.plan import CleaningPlan
from engine.data.datasets import Dataset

PLAN_NAME = "cleaning-plan.json"
REPORT_NAMES = ("report.html", "findings.json")


def save_cleaned_copy(
    cleaned: Dataset,
    plan: CleaningPlan,
    findings: Sequence[Finding],
    out: str | os.PathLike[str],
    source: str | os.PathLike[str],
) -> Path:
    """Write ``cleaned`` (table or image manifest), ``cleaning-plan.json``, ``report.html``
    and ``findings.json`` into the new or empty folder ``out``; returns the data file.

    ``source`` is the original dataset's path: an ``out`` inside it, or holding it, is
    refused, as is one that already holds files.
    """
    from engine.cleaning.report import write_report
    from engine.core.atomic import write_atomic
    from engine.core.output_folder import check_new_output, staged_folder
    from engine.data.dataset_io import save_dataset

    target = check_new_output(out, source)
    with staged_folder(target) as stage:
        written = save_dataset(cleaned, stage)
        write_atomic(
            stage / PLAN_NAME,
            json.dumps(plan.to_json(), ensure_ascii=False, indent=2).encode("utf-8"),
        )
        for name in REPORT_NAMES:
            write_report(cleaned, findings, stage / name)
    return target / written.name
