"""What a data check reports, and the fixes a user can tick.

A check is a function ``check(dataset, progress, cancel) -> list[Finding]``.
Findings point at rows by the dataset's stable ``row_id`` (never by position,
which changes as fixes are applied). Titles and explanations are message ids
(marked ``N_``) plus parameters, translated when shown, so a report reads in
whatever language the user picks later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from engine.core.i18n import Message

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

#: Fix kinds a CleaningPlan knows how to apply (see engine/cleaning/plan.py).
FIX_KINDS = ("drop_rows", "keep_one", "merge_labels", "relabel", "normalize_text", "add_rows")


@dataclass(frozen=True)
class Fix:
    """A suggested change; ``params`` depend on ``kind``:

    - ``drop_rows``: ``{"row_ids": [...]}``
    - ``keep_one``: ``{"groups": [[row_id, ...], ...]}`` keeps the first of each group
      still present (checks list the row they mean to keep first; see ``Finding.kept``)
    - ``merge_labels``: ``{"mapping": {"old label": "new label", ...}}``
    - ``relabel``: ``{"labels": {row_id: "new label", ...}}``
    - ``normalize_text``: ``{"row_ids": [...]}`` (ftfy repair, control/zero-width removal, NFKC)
    - ``add_rows``: ``{"rows": [{"item": path or text, "label": "label"}, ...]}`` (new rows)
    """

    kind: str
    params: dict[str, Any]
    description: Message

    def __post_init__(self) -> None:
        if self.kind not in FIX_KINDS:
            raise ValueError(f"unknown fix kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.params, "description": self.description.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fix:
        return cls(data["kind"], dict(data["params"]), Message.from_json(data["description"]))


@dataclass(frozen=True)
class Finding:
    """One problem found in a dataset.

    ``kind`` is a stable id such as ``"text.exact_duplicates"``; ``row_ids`` are
    the affected rows; ``groups`` clusters them where that matters (duplicates,
    conflicting labels); ``preview`` is a few small JSON-able dicts (rows or
    image paths) for the UI and the report; ``stats`` holds numbers a chart
    or a test may want.
    """

    kind: str
    severity: Severity
    title: Message
    explanation: Message
    row_ids: tuple[int, ...] = ()
    groups: tuple[tuple[int, ...], ...] = ()
    fix: Fix | None = None
    preview: tuple[dict[str, Any], ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    #: Per-row facts a user checks before acting, keyed by row id, e.g.
    #: ``{"suggested_label": "3", "confidence": 0.97}`` for a likely label error.
    row_details: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: For each group in ``groups``, the row id that a fix keeps (the rest are removed).
    kept: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return len(self.row_ids)

    def to_json(self, translate: bool = True) -> dict[str, Any]:
        """The finding as data: message params, counts and stats stay plain numbers so
        programs can read them; ``*_text`` is what a person reads, in the UI's digits."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title.to_json(),
            "explanation": self.explanation.to_json(),
            "row_ids": list(self.row_ids),
            "groups": [list(group) for group in self.groups],
            "fix": self.fix.to_json() if self.fix else None,
            "preview": list(self.preview),
            "stats": self.stats,
            "row_details": {str(row): detail for row, detail in self.row_details.items()},
            "kept": list(self.kept),
        }
        if translate:
            data["title_text"] = self.title.text()
            data["explanation_text"] = self.explanation.text()
            if self.fix:
                data["fix"]["description_text"] = self.fix.description.text()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            kind=data["kind"],
            severity=data["severity"],
            title=Message.from_json(data["title"]),
            explanation=Message.from_json(data["explanation"]),
            row_ids=tuple(data.get("row_ids", ())),
            groups=tuple(tuple(group) for group in data.get("groups", ())),
            fix=Fix.from_json(data["fix"]) if data.get("fix") else None,
            preview=tuple(data.get("preview", ())),
            stats=dict(data.get("stats", {})),
            row_details={
                int(row): dict(detail) for row, detail in data.get("row_details", {}).items()
            },
            kept=tuple(data.get("kept", ())),
        )


#: The only findings ``clean`` fixes without being asked, and the GUI ticks for the user:
#: their fixes remove rows that are provably useless or repeated (files that cannot be
#: opened, byte-identical copies, rows without text, texts repeated character for
#: character). Everything else is a judgement call (near copies, contradicting labels,
#: a model's guesses, rare classes, other languages) and is fixed only when asked by name.
SAFE_BY_DEFAULT = frozenset(
    {
        "image.unreadable",
        "image.exact_duplicates",
        "text.empty",
        "text.exact_duplicates",
    }
)


class _AllBut:
    """Every finding kind except ``SAFE_BY_DEFAULT``, including kinds added later."""

    def __contains__(self, kind: object) -> bool:
        return kind not in SAFE_BY_DEFAULT

    def __repr__(self) -> str:
        return f"everything except {sorted(SAFE_BY_DEFAULT)}"


#: Findings whose suggested fix needs a person's judgement: ``kind in
#: REVIEW_BEFORE_FIXING`` is true for every kind not in ``SAFE_BY_DEFAULT``.
REVIEW_BEFORE_FIXING = _AllBut()


def affected_rows(finding: Finding, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row a finding touches, named so a person can check it before acting.

    One dict per row id: ``row``, ``item`` (path or text), ``label``, then the
    finding's ``row_details`` for that row (``suggested_label``, ``confidence``)
    and, for grouped findings, ``group`` (its index) and, where the fix keeps one
    item per group, ``kept`` (whether this row is the one that stays).
    """
    from engine.data.datasets import ITEM, LABEL, ROW_ID

    wanted = frame[frame[ROW_ID].isin(list(finding.row_ids))]
    named = {
        int(row): (None if pd.isna(item) else str(item), None if pd.isna(label) else str(label))
        for row, item, label in zip(wanted[ROW_ID], wanted[ITEM], wanted[LABEL], strict=True)
    }
    group_of = {row: number for number, group in enumerate(finding.groups) for row in group}
    keeps_one = finding.fix is not None and finding.fix.kind == "keep_one"
    kept = set(finding.kept) or {group[0] for group in finding.groups if group}
    rows = []
    for row in finding.row_ids:
        entry: dict[str, Any] = {"row": int(row)}
        if row in named:
            entry["item"], entry["label"] = named[row]
        entry.update(finding.row_details.get(row, {}))
        if row in group_of:
            entry["group"] = group_of[row]
            if keeps_one:
                entry["kept"] = row in kept
        rows.append(entry)
    return rows


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by how many rows each one touches."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], -f.count, f.kind))
