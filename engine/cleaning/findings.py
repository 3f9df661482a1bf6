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

from engine.i18n import Message

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

#: Fix kinds a CleaningPlan knows how to apply (see engine/cleaning/plan.py).
FIX_KINDS = ("drop_rows", "keep_one", "merge_labels", "relabel", "normalize_text", "add_rows")


@dataclass(frozen=True)
class Fix:
    """A suggested change; ``params`` depend on ``kind``:

    - ``drop_rows``: ``{"row_ids": [...]}``
    - ``keep_one``: ``{"groups": [[row_id, ...], ...]}`` keeps the first of each group
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

    @property
    def count(self) -> int:
        return len(self.row_ids)

    def to_json(self, translate: bool = True) -> dict[str, Any]:
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
        )


#: Findings whose suggested fix is a judgement call (a model's guess, removing whole
#: classes): ``clean`` applies them only when asked by name, and the GUI never
#: ticks them for the user.
REVIEW_BEFORE_FIXING = frozenset({
    "label.likely_errors", "label.too_few", "label.imbalance", "text.unexpected_language",
})


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by how many rows each one touches."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], -f.count, f.kind))
