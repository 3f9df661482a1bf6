"""``clean --out`` never overwrites the user's files and never leaves half an output.

A folder that already holds anything is refused (an input named ``findings.json``,
``report.html`` or like the cleaned table would be overwritten), as is a folder
that is, contains or sits inside an image dataset's folder (its files and a
``manifest.csv`` of the user's would be). The refusal comes before any work and
writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from engine.core.jobs import UserError

SAMPLES = Path(__import__("sklearn").__file__).parent / "datasets" / "images"
TABLE = (
    "text,label\nThe team won the match,sport\nShe scored two goals,sport\n"
    "The soup was delicious,food\nShe baked fresh bread,food\nThe soup was delicious,food\n"
)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its content's hash."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _clean(capsys, *argv: str) -> tuple[int, str, str]:
    from ui.cli import main

    code = main(["--lang", "en", "clean", *argv])
    captured = capsys.readouterr()
    assert "Something went wrong" not in captured.err and "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture
def no_work(monkeypatch):
    """Refusals must come before the dataset is even read."""
    import engine.data.dataset_io

    def forbidden(*args, **kwargs):
        raise AssertionError("the dataset was read before the output folder was checked")

    monkeypatch.setattr(engine.data.dataset_io, "load_dataset", forbidden)


@pytest.mark.parametrize(
    "names",
    [("report.html",), ("findings.json", "cleaning-plan.json"), ("reviews.csv",), ("notes.txt",)],
)
def test_a_folder_that_holds_files_is_refused_and_left_unchanged(capsys, tmp_path, no_work, names):
    table = tmp_path / "reviews.csv"
    table.write_text(TABLE, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    for name in names:
        (out / name).write_text(f"the user's own {name}", encoding="utf-8")
    before = _snapshot(tmp_path)
    code, _out, err = _clean(capsys, str(table), "--out", str(out))
    assert code == 1  # as train refuses a folder that is not empty
    assert "already holds files" in err and str(out) in err
    assert _snapshot(tmp_path) == before


def test_an_input_named_like_an_output_is_never_overwritten(capsys, tmp_path, no_work):
    """The table is called findings.json's sibling: cleaning it in place is refused."""
    out = tmp_path / "data"
    out.mkdir()
    table = out / "reviews.csv"
    table.write_text(TABLE, encoding="utf-8")
    (out / "findings.json").write_text("{}", encoding="utf-8")
    before = _snapshot(tmp_path)
    code, _out, err = _clean(capsys, str(table), "--out", str(out))
    assert code == 1 and "already holds files" in err
    assert _snapshot(tmp_path) == before


def _image_folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for label, sample in (("a", "flower.jpg"), ("b", "china.jpg")):
        (root / label).mkdir(parents=True)
        for index in range(3):
            shutil.copy(SAMPLES / sample, root / label / f"{index}.jpg")
    return root


@pytest.mark.parametrize("where", ["itself", "inside", "class folder", "parent"])
def test_an_out_folder_overlapping_the_image_dataset_is_refused(capsys, tmp_path, no_work, where):
    root = _image_folder(tmp_path)
    (root / "manifest.csv").write_text("path,label\nmine.jpg,a\n", encoding="utf-8")
    dataset, out = {
        "itself": (root, root),
        "inside": (root, root / "cleaned"),
        "class folder": (root, root / "a"),
        "parent": (root / "a", root),
    }[where]
    before = _snapshot(tmp_path)
    code, _out, err = _clean(capsys, str(dataset), "--out", str(out))
    assert code == 1 and "overlaps the dataset's folder" in err
    assert _snapshot(tmp_path) == before and not (root / "cleaned").exists()


def test_an_out_path_that_is_a_file_is_refused(capsys, tmp_path, no_work):
    table = tmp_path / "reviews.csv"
    table.write_text(TABLE, encoding="utf-8")
    before = _snapshot(tmp_path)
    code, _out, err = _clean(capsys, str(table), "--out", str(table))
    assert code == 1 and "is a file, not a folder" in err
    assert _snapshot(tmp_path) == before


def test_an_empty_or_new_folder_gets_the_whole_output_and_nothing_else(capsys, tmp_path):
    table = tmp_path / "reviews.csv"
    table.write_text(TABLE, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new" / "deeper"):
        code, stdout, err = _clean(capsys, str(table), "--out", str(out), "--json")
        assert code == 0, err
        assert json.loads(stdout)["output"] == str(out / "reviews.csv")
        assert sorted(p.name for p in out.iterdir()) == [
            "cleaning-plan.json",
            "findings.json",
            "report.html",
            "reviews.csv",
        ]
        assert (out / "reviews.csv").read_text(encoding="utf-8").count("soup") == 1
    assert table.read_text(encoding="utf-8") == TABLE
    assert not list(tmp_path.rglob("*.partial"))


def test_a_failure_while_writing_leaves_no_partial_output(capsys, tmp_path, monkeypatch):
    import engine.cleaning.report

    table = tmp_path / "reviews.csv"
    table.write_text(TABLE, encoding="utf-8")

    def full_disk(dataset, findings, path):
        raise UserError(engine.cleaning.report.__name__ + ": the disk is full")

    monkeypatch.setattr(engine.cleaning.report, "write_report", full_disk)
    code, _out, err = _clean(capsys, str(table), "--out", str(tmp_path / "out"))
    assert code == 1 and "the disk is full" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]
