"""How findings are worded: no "(0 groups)", and one word ("image") for an image."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.cleaning import text_checks
from tests.helpers.texts import dataset

ROOT = Path(__file__).resolve().parents[3]
#: Calls that mark a user-visible string (engine.core.i18n).
MARKERS = {"_", "N_", "Nn_", "ngettext", "pgettext", "npgettext"}


def test_a_conflict_where_every_group_has_a_majority_never_mentions_zero_groups():
    texts = ["the match was great", "the match was great", "the match was great", "soup"]
    labels = ["sport", "sport", "food", "food"]
    (finding,) = text_checks.check_conflicting_labels(dataset(texts, labels))
    assert finding.stats["groups_without_majority"] == 0
    text = finding.explanation.text()
    assert not re.search(r"\b0\b", text) and "no label has a majority" not in text


def test_health_strings_say_image_never_picture():
    found = []
    files = [
        *(ROOT / "engine" / "cleaning").glob("*.py"),
        *(ROOT / "ui" / "pages" / "health").glob("*.py"),
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in MARKERS:
                continue
            for argument in node.args:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    if "picture" in argument.value.lower():
                        found.append(f"{path.name}: {argument.value}")
    assert not found, found
