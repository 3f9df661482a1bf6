"""``models``: the command line lists every model trained with ``train`` (or opened in the
window) from a fresh process, with unique names and missing folders marked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli

GREETINGS = [
    "hello there",
    "good morning",
    "hi, how are you",
    "good evening friend",
    "hey, nice to see you",
    "hello my friend",
    "morning! how are you",
    "hi there",
]
FAREWELLS = [
    "goodbye now",
    "see you later",
    "bye, take care",
    "farewell my friend",
    "see you tomorrow",
    "good night and bye",
    "bye bye",
    "later, take care",
]


def write_table(path: Path) -> Path:
    rows = (
        ["text,label"]
        + [f'"{text}",hello' for text in GREETINGS]
        + [f'"{text}",bye' for text in FAREWELLS]
    )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_models_json_with_an_empty_library(tmp_path):
    done = run_cli("models", "--json", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    text = run_cli("models", "--lang", "en", home=tmp_path / "home")
    assert "No models yet" in text.stdout


@pytest.mark.slow
def test_trained_models_are_listed_with_unique_names_and_missing_ones_marked(tmp_path):
    home, table = tmp_path / "home", write_table(tmp_path / "greetings.csv")
    for parent in ("first", "second"):  # the same folder name twice: "model", "model (2)"
        done = run_cli(
            "train",
            str(table),
            "--out",
            str(tmp_path / parent / "model"),
            "--mode",
            "instant",
            "--json",
            home=home,
        )
        assert done.returncode == 0, done.stderr
    shutil.rmtree(tmp_path / "first")

    listed = json.loads(run_cli("models", "--json", home=home).stdout)
    assert [(m["name"], m["missing"]) for m in listed] == [("model (2)", False), ("model", True)]
    newest = listed[0]
    assert newest["path"] == str((tmp_path / "second" / "model").resolve())
    assert newest["task"] == "text" and newest["classes"] == 2
    assert sorted(newest["labels"]) == ["bye", "hello"]
    assert 0 <= newest["accuracy"] <= 1 and newest["size"] > 0 and newest["created"]
    assert newest["trained_by_taxon"]

    text = run_cli("models", "--lang", "en", home=home).stdout
    assert "model (2) · texts · 2 classes · accuracy" in text
    assert f"missing: {(tmp_path / 'first' / 'model').resolve()}" in text
