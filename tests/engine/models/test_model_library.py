"""The model library: what a user relies on when Taxon restarts, two processes write at once,
the index is damaged, or a model folder is moved away."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.models import library as model_library
from engine.models.library import ModelLibrary, register
from engine.models.package import load_package, save_package, write_archive


def make_package(
    folder: Path, name: str = "Leaves", labels=("oak", "maple", "ash"), accuracy: float = 0.875
) -> Path:
    return save_package(
        folder,
        manifest={
            "name": name,
            "task": "image",
            "kind": "fast",
            "labels": list(labels),
            "metrics": {"accuracy": accuracy},
        },
        tensors={"head.weight": np.zeros((len(labels), 4), dtype=np.float32)},
    )


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A private user folder, so the suite's other models do not show up here."""
    monkeypatch.setenv("TAXON_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_registered_model_is_listed_by_a_fresh_library_with_its_details(home, tmp_path):
    package = make_package(tmp_path / "leaves model")
    entry = register(package, origin="trained")
    assert entry is not None and entry.trained_by_taxon
    (listed,) = ModelLibrary().entries()  # a new instance: what a restart sees
    assert listed.path == str(package) and listed.name == "Leaves" and listed.task == "image"
    assert listed.classes == 3 and listed.labels == ["oak", "maple", "ash"]
    assert listed.accuracy == pytest.approx(0.875)
    assert listed.size > 0 and listed.created_at is not None and not listed.missing
    assert (home / "data" / "models.json").is_file()


def test_registering_again_refreshes_but_keeps_a_rename_and_the_trained_mark(home, tmp_path):
    package = make_package(tmp_path / "m")
    library = ModelLibrary()
    library.add(package, origin="trained")
    library.rename(package, "  My   leaves ")
    make_package(tmp_path / "m", accuracy=0.95)  # trained again into the same folder
    library.add(package, origin="opened")
    (entry,) = library.entries()
    assert entry.name == "My leaves" and entry.renamed and entry.trained_by_taxon
    assert entry.accuracy == pytest.approx(0.95)
    assert load_package(package).name == "Leaves"  # the checksummed manifest is untouched
    with pytest.raises(UserError):
        library.rename(package, "   ")


def test_opened_packages_and_taxon_model_files_are_remembered(home, tmp_path):
    archive = write_archive(make_package(tmp_path / "src", name="Shared"), tmp_path / "shared")
    package = load_package(archive)
    entry = register(package)
    assert entry.path == str(archive) and entry.format == "archive" and entry.name == "Shared"
    assert not entry.trained_by_taxon
    assert ModelLibrary().get(archive).size == archive.stat().st_size


def test_a_taxon_model_file_registered_by_path_reads_its_manifest_from_the_zip(home, tmp_path):
    archive = write_archive(make_package(tmp_path / "src", name="Mailed"), tmp_path / "mailed")
    entry = register(archive)
    assert entry is not None and entry.format == "archive" and entry.name == "Mailed"
    assert entry.labels == ["oak", "maple", "ash"]


def test_a_vanished_folder_is_listed_as_missing_until_removed(home, tmp_path):
    package = make_package(tmp_path / "usb" / "model")
    library = ModelLibrary()
    library.add(package)
    shutil.rmtree(tmp_path / "usb")
    (entry,) = library.entries()
    assert entry.missing
    assert library.remove(package) and library.entries() == []
    assert not library.remove(package)


def test_newest_first_and_unique_names(home, tmp_path):
    library = ModelLibrary()
    first = make_package(tmp_path / "a", name="Digits 2026-12-06 14.03")
    library.add(first)
    second = make_package(tmp_path / "b", name="Other")
    library.add(second)
    assert [e.name for e in library.entries()] == ["Other", "Digits 2026-12-06 14.03"]
    assert library.unique_name("Digits 2026-12-06 14.03") == "Digits 2026-12-06 14.03 (2)"
    assert (
        library.unique_name("digits 2026-12-06 14.03", exclude=first) == "digits 2026-12-06 14.03"
    )
    assert library.unique_name("New") == "New"


def test_a_damaged_index_starts_empty_and_is_kept_as_a_backup(home, tmp_path):
    index = home / "data" / "models.json"
    index.parent.mkdir(parents=True)
    index.write_text("{ not json", encoding="utf-8")
    library = ModelLibrary()
    assert library.entries() == []
    library.add(make_package(tmp_path / "m"))
    assert [e.name for e in library.entries()] == ["Leaves"]
    backups = list(index.parent.glob("models.json.damaged-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "{ not json"


def test_entries_not_understood_are_skipped_and_unknown_keys_kept(home, tmp_path):
    package = make_package(tmp_path / "m")
    index = home / "data" / "models.json"
    index.parent.mkdir(parents=True)
    index.write_text(
        json.dumps(
            {
                "format": "taxon-model-library",
                "version": 1,
                "models": [
                    {"path": str(package), "name": "Kept", "task": "image", "future": 1},
                    "garbage",
                    {"name": "no path"},
                ],
            }
        ),
        encoding="utf-8",
    )
    library = ModelLibrary()
    assert [e.name for e in library.entries()] == ["Kept"]
    library.rename(package, "Renamed")
    saved = json.loads(index.read_text(encoding="utf-8"))["models"]
    assert saved == [saved[0]] and saved[0]["future"] == 1 and saved[0]["name"] == "Renamed"


def test_not_a_package_is_refused_and_register_never_raises(home, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError):
        ModelLibrary().add(tmp_path / "empty")
    assert register(tmp_path / "empty") is None
    assert ModelLibrary().entries() == []


def test_delete_moves_to_the_trash(home, tmp_path, monkeypatch):
    trashed: list[str] = []
    monkeypatch.setattr(
        model_library, "_trash", lambda target: (trashed.append(str(target)), shutil.rmtree(target))
    )
    package = make_package(tmp_path / "m")
    library = ModelLibrary()
    library.add(package)
    assert library.delete(package) == "trash"
    assert trashed == [str(package)] and library.entries() == []


def test_permanent_delete_only_for_models_taxon_trained(home, tmp_path):
    library = ModelLibrary()
    theirs = make_package(tmp_path / "theirs")
    library.add(theirs, origin="opened")
    with pytest.raises(UserError, match="trained itself"):
        library.delete(theirs, permanently=True)
    assert theirs.is_dir() and library.get(theirs) is not None
    ours = make_package(tmp_path / "ours")
    library.add(ours, origin="trained")
    assert library.delete(ours, permanently=True) == "deleted"
    assert not ours.exists() and library.get(ours) is None


def test_delete_refuses_a_folder_that_is_no_longer_a_model(home, tmp_path):
    package = make_package(tmp_path / "m")
    library = ModelLibrary()
    library.add(package, origin="trained")
    shutil.rmtree(package)
    package.mkdir()
    (package / "holiday.jpg").write_bytes(b"someone else's")
    with pytest.raises(UserError, match="no longer a Taxon model"):
        library.delete(package, permanently=True)
    assert (package / "holiday.jpg").exists()


def _add_many(index: str, folder: str, start: int, count: int) -> None:
    library = ModelLibrary(index)
    for number in range(start, start + count):
        library.add(Path(folder) / f"m{number % 2}", origin="trained")
        library.rename(Path(folder) / f"m{number % 2}", f"name {number}")
        # a distinct entry per write: the real check is that none is lost
        library._update(
            lambda entries, n=number: entries.append(
                model_library.LibraryEntry(
                    path=f"/models/{n}",
                    name=f"n{n}",
                    task="image",
                    classes=2,
                    labels=[],
                    accuracy=None,
                    created="",
                    size=0,
                )
            )
        )


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_no_entry(tmp_path):
    folder = tmp_path / "packages"
    make_package(folder / "m0")
    make_package(folder / "m1")
    index = tmp_path / "library" / "models.json"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_add_many, args=(str(index), str(folder), start, 25))
        for start in (0, 100)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    paths = {entry.path for entry in ModelLibrary(index).entries()}
    assert {f"/models/{n}" for n in [*range(25), *range(100, 125)]} <= paths
    assert {str(folder / "m0"), str(folder / "m1")} <= paths
