"""The fixes a user chose, in order: replayable, undoable, saved with the project.

A ``CleaningPlan`` never edits data in place. ``apply`` reads the dataset and returns
a new one, so the original stays what was loaded from disk, undo is "drop the last
step and apply again", and a saved plan replayed on a fresh copy of the same file
gives the same result. Steps refer to rows by ``row_id`` and run in the order they
were added; ids a step no longer finds (dropped by an earlier step) are skipped.

Step kinds (``Fix.kind``):

- ``drop_rows``: remove the listed rows;
- ``keep_one``: in each group keep the first row *still present* and remove the
  others; checks list the row they mean to keep first (the ``kept`` of their
  finding: for images the copy with the shortest path, for texts the oldest row);
- ``merge_labels``: rename labels by the mapping (whole-label matches only);
- ``relabel``: set the label of individual rows;
- ``normalize_text``: repair and tidy the text of the listed rows (text datasets);
- ``add_rows``: append new rows (an image classified elsewhere, with the label the
  user gave it). Their ``row_id``s count up from ``ADDED_ROW_BASE`` (or past the
  original's largest id) in the order the plan adds them, so a replay gives every
  added row the same id again and later steps (a relabel, a drop) can refer to it;
  they never collide with the original's rows, even ones an earlier step dropped.
  ``source_line`` is empty: the row is in no file of the user's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.cleaning.findings import Finding, Fix, Message
from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.versioned_json import JsonFormat, check_versioned, version_of
from engine.data.datasets import ITEM, LABEL, ROW_ID, Dataset
from engine.data.textnorm import normalize_series

__all__ = ["CleaningPlan", "PlanStep", "PLAN_VERSION", "ADDED_ROW_BASE"]

PLAN_VERSION = 1
#: Plans never carried a format name (they also travel inside project files).
_PLAN_FORMAT = JsonFormat(None, newest=PLAN_VERSION)
MSG_UNREADABLE_PLAN = N_(
    "This cleaning plan has format version {version}, which this version of Taxon cannot read."
)
#: First row id of rows a plan adds: far above any table's row count, so the ids of
#: added rows stay the same when the user's file grows a few rows.
ADDED_ROW_BASE = 1_000_000_000


@dataclass(frozen=True)
class PlanStep:
    fix: Fix
    finding_kind: str = ""
    note: Message | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fix": self.fix.to_json(),
            "finding_kind": self.finding_kind,
            "note": self.note.to_json() if self.note else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanStep:
        note = data.get("note")
        return cls(
            Fix.from_json(data["fix"]),
            data.get("finding_kind", ""),
            Message.from_json(note) if note else None,
        )


def _drop(frame: pd.DataFrame, row_ids) -> pd.DataFrame:
    return frame[~frame[ROW_ID].isin(np.asarray(list(row_ids), dtype=np.int64))]


def _keep_one(frame: pd.DataFrame, groups) -> pd.DataFrame:
    sizes = [len(group) for group in groups]
    if not sizes:
        return frame
    ids = np.fromiter((int(i) for group in groups for i in group), dtype=np.int64, count=sum(sizes))
    group = np.repeat(np.arange(len(sizes)), sizes)
    present = np.isin(ids, frame[ROW_ID].to_numpy())
    ids, group = ids[present], group[present]
    first = np.r_[True, group[1:] != group[:-1]]  # groups are contiguous, in listed order
    return _drop(frame, ids[~first])


def _merge_labels(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    labels = frame[LABEL]
    changing = labels.isin(list(mapping)).fillna(False).to_numpy(dtype=bool)
    if changing.any():
        frame = frame.copy()
        new = labels[changing].map(mapping).astype(labels.dtype)
        frame.loc[changing, LABEL] = new
    return frame


def _relabel(frame: pd.DataFrame, labels: dict) -> pd.DataFrame:
    # JSON turns integer keys into strings; accept both
    targets = pd.Series({int(row_id): label for row_id, label in labels.items()}, dtype="string")
    changing = frame[ROW_ID].isin(targets.index).to_numpy()
    if changing.any():
        frame = frame.copy()
        new = targets.reindex(frame.loc[changing, ROW_ID].to_numpy()).to_numpy()
        frame.loc[changing, LABEL] = pd.array(new, dtype=frame[LABEL].dtype)
    return frame


def _normalize(frame: pd.DataFrame, row_ids, task: str) -> pd.DataFrame:
    if task != "text":
        raise ValueError("normalize_text applies to text datasets only")
    changing = frame[ROW_ID].isin(np.asarray(list(row_ids), dtype=np.int64)).to_numpy()
    if changing.any():
        frame = frame.copy()
        fixed = normalize_series(frame.loc[changing, ITEM])
        frame.loc[changing, ITEM] = fixed.astype(frame[ITEM].dtype)
    return frame


def _add_rows(frame: pd.DataFrame, rows: list, first_id: int) -> pd.DataFrame:
    for row in rows:
        if not (
            isinstance(row, dict)
            and isinstance(row.get("item"), str)
            and row["item"]
            and isinstance(row.get("label"), str)
            and row["label"]
        ):
            raise ValueError(f"add_rows needs an item and a label in every row, not {row!r}")
    if not rows:
        return frame
    count = len(rows)
    added = {}
    for column in frame.columns:
        if column == ROW_ID:
            added[column] = pd.Series(np.arange(first_id, first_id + count), dtype="int64")
        elif column in (ITEM, LABEL):
            added[column] = pd.Series([row[column] for row in rows], dtype=frame[column].dtype)
        else:
            added[column] = pd.Series([pd.NA] * count, dtype=frame[column].dtype)
    return pd.concat([frame, pd.DataFrame(added)], ignore_index=True)


def _first_added_id(frame: pd.DataFrame) -> int:
    largest = int(frame[ROW_ID].max()) if len(frame) else -1
    return max(ADDED_ROW_BASE, largest + 1)


class CleaningPlan:
    """An ordered list of ``PlanStep``s; see the module docstring for what each does."""

    def __init__(self, steps: list[PlanStep] | None = None) -> None:
        self._steps: list[PlanStep] = list(steps or [])

    @property
    def steps(self) -> tuple[PlanStep, ...]:
        return tuple(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[PlanStep]:
        return iter(self._steps)

    def add(self, fix: Fix, finding_kind: str = "", note: Message | None = None) -> PlanStep:
        step = PlanStep(fix, finding_kind, note)
        self._steps.append(step)
        return step

    def add_finding(self, finding: Finding, note: Message | None = None) -> PlanStep:
        """Add a finding's suggested fix (which it must have)."""
        if finding.fix is None:
            raise ValueError(f"finding {finding.kind!r} has no fix")
        return self.add(finding.fix, finding.kind, note)

    def undo(self) -> PlanStep | None:
        """Remove and return the last step (None when the plan is empty)."""
        return self._steps.pop() if self._steps else None

    def apply(
        self, dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
    ) -> Dataset:
        """A new dataset with every step applied in order; ``dataset`` is not changed."""
        frame = dataset.frame
        next_added_id = _first_added_id(frame)
        for number, step in enumerate(self._steps):
            if cancel is not None:
                cancel.raise_if_cancelled()
            progress(number, len(self._steps), "")
            params = step.fix.params
            kind = step.fix.kind
            if kind == "drop_rows":
                frame = _drop(frame, params["row_ids"])
            elif kind == "keep_one":
                frame = _keep_one(frame, params["groups"])
            elif kind == "merge_labels":
                frame = _merge_labels(frame, params["mapping"])
            elif kind == "relabel":
                frame = _relabel(frame, params["labels"])
            elif kind == "normalize_text":
                frame = _normalize(frame, params["row_ids"], dataset.task)
            elif kind == "add_rows":
                frame = _add_rows(frame, list(params["rows"]), next_added_id)
                next_added_id += len(params["rows"])
            else:  # Fix validates kinds; this guards a FIX_KINDS addition without code here
                raise ValueError(f"cannot apply fix kind {kind!r}")
        progress(len(self._steps), len(self._steps), "")
        return dataset.with_frame(frame.copy() if frame is dataset.frame else frame)

    def summary(self, dataset: Dataset) -> dict[str, int]:
        """What applying the plan to ``dataset`` changes, counted on the result.

        ``rows_added`` is there only when the plan adds rows (``add_rows``).
        """
        after = self.apply(dataset).frame
        original = after[ROW_ID].isin(dataset.frame[ROW_ID]).to_numpy()
        kept = after[original]
        before = dataset.frame.set_index(ROW_ID).loc[kept[ROW_ID].to_numpy()]
        label_changed = (
            before[LABEL].astype("string").fillna("\0")
            != kept[LABEL].astype("string").fillna("\0").to_numpy()
        )
        item_changed = (
            before[ITEM].astype("string").fillna("\0")
            != kept[ITEM].astype("string").fillna("\0").to_numpy()
        )
        summary = {
            "steps": len(self._steps),
            "rows_before": len(dataset.frame),
            "rows_after": len(after),
            "rows_dropped": len(dataset.frame) - len(kept),
            "labels_changed": int(label_changed.sum()),
            "texts_normalized": int(item_changed.sum()) if dataset.task == "text" else 0,
        }
        if any(step.fix.kind == "add_rows" for step in self._steps):
            summary["rows_added"] = int((~original).sum())
        return summary

    def to_json(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, "steps": [step.to_json() for step in self._steps]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CleaningPlan:
        def unreadable(_problem: object) -> UserError:
            return UserError(MSG_UNREADABLE_PLAN, version=version_of(data))

        check_versioned(data, _PLAN_FORMAT, damaged=unreadable, newer=unreadable)
        return cls([PlanStep.from_json(step) for step in data.get("steps", [])])
