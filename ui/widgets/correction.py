"""Putting a label the user gave back into the dataset, through the cleaning plan.

Shared by "Correct label…" (Evaluate page) and "Add to dataset…" (Classify page).
An item that is already a row of the session's current dataset gets a
``relabel`` fix; any other item joins the dataset with an ``add_rows`` fix. The
original data is never edited: the fix is a plan step, so the next training
uses it, the Health page can undo it, and the project saves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.i18n import N_, Message
from ui.widgets.label_dialog import ask_label

if TYPE_CHECKING:
    from engine.data.datasets import Dataset

__all__ = ["apply_label", "ask_label", "find_row", "short_item"]

MSG_RELABELLED = N_("Label of {item} corrected to {label}.")
MSG_ADDED = N_("{item} added to the dataset as {label}.")
MSG_UNCHANGED = N_("{item} already has the label {label}.")
FINDING_KIND = "user.correction"
#: Characters of a text item quoted in messages and plan steps.
SHORT_TEXT = 40


def short_item(item: str, task: str) -> str:
    """How messages name an item: an image by its file name, a text by its start."""
    if task == "image":
        name = Path(item).name or item
    else:
        name = item if len(item) <= SHORT_TEXT else item[:SHORT_TEXT].rstrip() + "…"
    return "\u2068" + name + "\u2069"


def find_row(dataset: Dataset, item: str, row_id: int | None = None) -> int | None:
    """The row id holding ``item``: ``row_id`` when it still holds that item, else the
    first match."""
    from engine.data.datasets import ITEM, ROW_ID  # pandas: not before the window's first paint

    frame = dataset.frame
    if row_id is not None:
        match = frame.loc[frame[ROW_ID] == row_id, ITEM]
        if len(match) and match.iloc[0] == item:
            return int(row_id)
    same = frame[ITEM].eq(item).fillna(False).to_numpy(dtype=bool)
    if not same.any():
        return None
    return int(frame.loc[same, ROW_ID].iloc[0])


def apply_label(session, item: str, label: str, row_id: int | None = None) -> Message | None:
    """Give ``item`` the label ``label`` in the session's dataset; None when no dataset is open.

    Returns the message that says what was done (translated when shown).
    """
    from engine.cleaning.findings import Fix
    from engine.data.datasets import LABEL, ROW_ID

    dataset = session.current
    if dataset is None:
        return None
    name = short_item(item, dataset.task)
    params = {"item": name, "label": label}
    found = find_row(dataset, item, row_id)
    if found is not None:
        current = dataset.frame.loc[dataset.frame[ROW_ID] == found, LABEL].iloc[0]
        if isinstance(current, str) and current == label:
            return Message(MSG_UNCHANGED, params)
        fix = Fix("relabel", {"labels": {str(found): label}}, Message(MSG_RELABELLED, params))
    else:
        fix = Fix(
            "add_rows", {"rows": [{"item": item, "label": label}]}, Message(MSG_ADDED, params)
        )
    if not session.add_fix(fix, FINDING_KIND):
        return None
    return fix.description
