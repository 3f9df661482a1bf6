"""Duplicates that straddle an imported split: the model would be tested on what it saw.

A dataset that arrives with its own training/validation/test split may hold the
same photo (or text) on both sides. The duplicate checks find the groups; this
check reports the groups that cross the split and suggests keeping each group
in the earliest part it touches.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from engine.cleaning.findings import Finding, Fix, Message
from engine.core.i18n import N_, Nn_
from engine.data.datasets import (
    ITEM,
    ROW_ID,
    SPLIT,
    SPLITS,
    Dataset,
)

MSG_LEAK_TITLE, MSG_LEAK_TITLE_PLURAL = Nn_(
    "{count} group of duplicates crosses the imported split",
    "{count} groups of duplicates cross the imported split",
)
MSG_LEAK_EXPLANATION = N_(
    "The same or nearly the same item appears in more than one of the training, validation "
    "and test sets ({rows} rows). The model is then tested on items it has already seen, "
    "and its scores look better than they really are."
)
MSG_LEAK_FIX, MSG_LEAK_FIX_PLURAL = Nn_(
    "Drop {count} copy so that each group stays in one part of the split",
    "Drop {count} copies so that each group stays in one part of the split",
)

_PREVIEW_GROUPS = 5


def groups_from_findings(findings: Iterable[Finding], frame: pd.DataFrame) -> pd.Series:
    """Group ids for every row from the duplicate checks' findings, indexed like the frame.

    Duplicate groups that share a row (an exact copy that is also a near
    duplicate of a third image) are one group: connected components by
    union-find. A group's id is its smallest row id; rows in no group get their
    own row id, so the result can go straight to ``split_dataset``.
    """
    row_ids = frame[ROW_ID].astype("int64").tolist()
    known = set(row_ids)
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for finding in findings:
        if "duplicate" not in finding.kind:
            continue
        for group in finding.groups:
            present = [int(row) for row in group if int(row) in known]
            for other in present[1:]:
                a, b = find(present[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the smaller id stays the root
    return pd.Series([find(row) for row in row_ids], index=frame.index, dtype="int64", name="group")


def check_split_leakage(dataset: Dataset, groups: pd.Series) -> list[Finding]:
    """Report duplicate groups whose rows sit in different parts of an imported split.

    The suggested fix keeps each group's rows in the earliest split it
    touches (training if any) and drops its copies elsewhere. Vectorised:
    a large imported dataset with many duplicate groups is checked in moments.
    """
    frame = dataset.frame
    if SPLIT not in frame.columns or frame.empty:
        return []
    rank = frame[SPLIT].map({name: i for i, name in enumerate(SPLITS)})
    table = pd.DataFrame(
        {"group": groups.reindex(frame.index), "row_id": frame[ROW_ID], "rank": rank}
    ).dropna(subset=["group", "rank"])
    table["rank"] = table["rank"].astype("int64")
    by_group = table.groupby("group", sort=False)["rank"]
    table = table[by_group.transform("nunique") > 1]
    if table.empty:
        return []
    table = table.assign(first=table.groupby("group", sort=False)["rank"].transform("min"))
    drop = sorted(int(r) for r in table.loc[table["rank"] != table["first"], "row_id"])
    table = table.sort_values(["group", "row_id"], kind="stable")
    # Which splits each group touches, as a bit mask: 1 train, 2 validation, 4 test.
    distinct = table.drop_duplicates(["group", "rank"])
    present = (2 ** distinct["rank"]).groupby(distinct["group"], sort=False).sum()
    crossings = {
        "+".join(name for i, name in enumerate(SPLITS) if mask >> i & 1): int(n)
        for mask, n in present.value_counts().sort_index().items()
    }
    leaky = [
        tuple(int(r) for r in rows)
        for rows in table.groupby("group", sort=True)["row_id"].agg(tuple)
    ]
    row_ids = tuple(sorted(row for group in leaky for row in group))
    items = dict(zip(frame[ROW_ID].astype("int64"), frame[ITEM], strict=True))
    splits = dict(zip(frame[ROW_ID].astype("int64"), frame[SPLIT], strict=True))
    preview = tuple(
        {"row_id": row, "item": str(items[row]), "split": str(splits[row])}
        for group in leaky[:_PREVIEW_GROUPS]
        for row in group
    )
    count = len(leaky)
    fix = Fix(
        "drop_rows",
        {"row_ids": drop},
        Message(MSG_LEAK_FIX, {"count": len(drop)}, MSG_LEAK_FIX_PLURAL, len(drop)),
    )
    return [
        Finding(
            kind="split.leakage",
            severity="error",
            title=Message(MSG_LEAK_TITLE, {"count": count}, MSG_LEAK_TITLE_PLURAL, count),
            explanation=Message(MSG_LEAK_EXPLANATION, {"rows": len(row_ids)}),
            row_ids=row_ids,
            groups=tuple(leaky),
            fix=fix,
            preview=preview,
            stats={
                "groups": count,
                "rows": len(row_ids),
                "crossings": crossings,
                "rows_to_drop": len(drop),
            },
        )
    ]
