"""engine.data.project: the project manifest is saved atomically and never clobbered."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.core.jobs import UserError
from engine.data import project as project_module
from engine.data.datasets import DatasetSource
from engine.data.project import (
    MANIFEST_NAME,
    MAX_RECENT,
    Project,
    forget_project,
    recent_projects,
    remember_project,
)

PLAN = {"fixes": [{"kind": "drop_rows", "params": {"row_ids": [3, 4]}}]}


@pytest.fixture
def recent_home(tmp_path, monkeypatch):
    """A private config folder so recent-list tests do not see each other."""
    monkeypatch.setenv("TAXON_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def make_project(folder: Path) -> Project:
    project = Project.create(folder, "Birds 🐦")
    inside = folder / "data" / "labels.csv"
    outside = folder.parent / "photos"
    table = DatasetSource(
        "table",
        str(inside),
        format="csv",
        encoding="utf-8",
        delimiter=",",
        item_column="file",
        label_column="species",
    )
    project.add_dataset(table, "Labels", "image")
    project.add_dataset(DatasetSource("folder", str(outside)), "Photos", "image")
    return project


def test_create_open_save_round_trip(tmp_path):
    folder = tmp_path / "proj"
    project = make_project(folder)
    assert project.dirty
    first, second = (entry.id for entry in project.datasets)
    project.set_plan(first, PLAN)
    model_id = project.add_model("v1", folder / "models" / "v1")
    project.add_version(first, folder / "cleaned" / "labels.csv", rows=120)
    project.set_setting("seed", 3)
    project.save()
    assert not project.dirty

    data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert data["format"] == "taxon-project" and data["version"] == 1
    assert data["name"] == "Birds 🐦"
    assert data["datasets"][0]["source"]["path"] == "data/labels.csv"  # relative inside
    assert Path(data["datasets"][1]["source"]["path"]).is_absolute()
    assert data["models"][0]["path"] == "models/v1"

    reopened = Project.open(folder)
    assert reopened.name == "Birds 🐦"
    assert [d.id for d in reopened.datasets] == [first, second]
    assert reopened.dataset(first).source == project.dataset(first).source
    assert reopened.dataset(first).plan == PLAN
    assert reopened.dataset(second).plan is None
    assert reopened.dataset(first).versions[0]["rows"] == 120
    assert reopened.models[0].id == model_id and reopened.models[0].path == folder / "models" / "v1"
    assert reopened.settings == {"seed": 3}
    assert reopened.created == project.created
    assert not reopened.dirty


def test_moved_project_finds_its_inside_paths(tmp_path):
    make_project(tmp_path / "old").save()
    os.rename(tmp_path / "old", tmp_path / "new")
    moved = Project.open(tmp_path / "new" / MANIFEST_NAME)
    assert moved.datasets[0].source.path == str(tmp_path / "new" / "data" / "labels.csv")


def test_unknown_keys_survive_a_save(tmp_path):
    folder = tmp_path / "proj"
    make_project(folder).save()
    data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    data["future"] = {"x": 1}
    data["datasets"][0]["notes"] = "keep me"
    (folder / MANIFEST_NAME).write_text(json.dumps(data), encoding="utf-8")
    project = Project.open(folder)
    project.mark_dirty()
    assert project.autosave()
    again = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert again["future"] == {"x": 1} and again["datasets"][0]["notes"] == "keep me"


def test_autosave_writes_only_when_dirty(tmp_path, monkeypatch):
    project = Project.create(tmp_path / "p", "P")
    writes = []
    real = project_module.write_atomic
    monkeypatch.setattr(project_module, "write_atomic", lambda *a: (writes.append(a), real(*a)))
    assert project.autosave() is False
    project.set_setting("k", 1)
    assert project.autosave() is True
    assert project.autosave() is False
    assert len(writes) == 1


def test_a_crash_while_saving_leaves_the_old_manifest(tmp_path, monkeypatch):
    folder = tmp_path / "proj"
    project = make_project(folder)
    project.save()
    before = (folder / MANIFEST_NAME).read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    project.add_model("never saved", tmp_path / "m")
    with pytest.raises(UserError) as caught:
        project.save()
    assert "cannot save" in caught.value.message
    assert project.dirty  # still unsaved, autosave will retry
    assert (folder / MANIFEST_NAME).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_NAME]  # no temp file left


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{ not json", "damaged"),
        (b"\xff\xfe garbage", "damaged"),
        (b"[1, 2]", "damaged"),
        (json.dumps({"format": "other", "version": 1}).encode(), "damaged"),
        (json.dumps({"format": "taxon-project", "version": 1, "name": "x"}).encode(), "damaged"),
        (
            json.dumps(
                {
                    "format": "taxon-project",
                    "version": 1,
                    "name": "x",
                    "models": [],
                    "datasets": [{"id": "a", "name": "n", "task": "image"}],
                }
            ).encode(),
            "damaged",
        ),
        (json.dumps({"format": "taxon-project", "version": "1"}).encode(), "damaged"),
        (
            json.dumps(
                {"format": "taxon-project", "version": 2, "name": "x", "datasets": [], "models": []}
            ).encode(),
            "newer Taxon",
        ),
    ],
)
def test_damaged_and_newer_manifests_are_refused_and_left_alone(tmp_path, content, words):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / MANIFEST_NAME).write_bytes(content)
    with pytest.raises(UserError) as caught:
        Project.open(folder)
    assert words in caught.value.message
    with pytest.raises(UserError):
        Project.create(folder, "over it")  # cannot be "created" over either
    assert (folder / MANIFEST_NAME).read_bytes() == content


def test_save_refuses_when_a_newer_taxon_wrote_the_manifest_meanwhile(tmp_path):
    project = Project.create(tmp_path / "p", "P")
    newer = json.dumps({"format": "taxon-project", "version": 9}).encode()
    project.manifest_path.write_bytes(newer)
    project.set_setting("k", 1)
    with pytest.raises(UserError, match="newer Taxon"):
        project.autosave()
    assert project.manifest_path.read_bytes() == newer


def test_open_without_manifest_and_unknown_ids_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not a Taxon project"):
        Project.open(tmp_path)
    project = Project.create(tmp_path / "p", "P")
    with pytest.raises(UserError):
        project.set_plan("nope", PLAN)
    with pytest.raises(UserError):
        project.add_dataset(DatasetSource("folder", "/x"), "x", "audio")


def test_recent_projects_most_recent_first_capped_and_pruned(tmp_path, recent_home):
    folders = [Project.create(tmp_path / f"p{i}", f"P{i}").folder for i in range(MAX_RECENT + 2)]
    for folder in folders:
        remember_project(folder)
    remember_project(folders[3] / MANIFEST_NAME)  # re-opened: moves to the top, no duplicate
    recent = recent_projects()
    assert recent[0] == folders[3]
    assert recent[1:4] == folders[-1:-4:-1]
    assert len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT

    (folders[-1] / MANIFEST_NAME).unlink()  # project deleted: dropped from the list
    assert folders[-1] not in recent_projects()
    forget_project(folders[3])
    assert folders[3] not in recent_projects()


def test_damaged_recent_list_is_ignored(recent_home, tmp_path):
    (recent_home / "config").mkdir(parents=True, exist_ok=True)
    (recent_home / "config" / project_module.RECENT_FILE).write_text("{oops", encoding="utf-8")
    assert recent_projects() == []
    folder = Project.create(tmp_path / "p", "P").folder
    remember_project(folder)
    assert recent_projects() == [folder]
