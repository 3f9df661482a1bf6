"""engine.data.files: folder walks over real temporary trees."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine.core.jobs import Cancelled, CancelToken
from engine.data import files
from engine.data.files import iter_image_files


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def names(paths, root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for name in [
        "b.jpg", "A.JPG", "c.PnG", "d.txt", "e.tiff", "notes.md", "no_extension",
        "sub/z.webp", "sub/deeper/y.gif", "sub/deeper/x.Bmp",
        ".hidden.jpg", ".cache/inside.jpg", "Thumbs.db", "desktop.ini", ".DS_Store",
        "__MACOSX/a/._junk.jpg", "__MACOSX/real.jpg",
        "猫 🐱.png", "Ölçek/é.jpeg",
    ]:  # fmt: skip
        touch(root / name)
    return root


def test_walk_is_sorted_recursive_and_filtered(tree):
    found = names(iter_image_files([tree]), tree)
    assert found == [
        "A.JPG", "b.jpg", "c.PnG", "e.tiff",
        "sub/deeper/x.Bmp", "sub/deeper/y.gif", "sub/z.webp",
        "Ölçek/é.jpeg", "猫 🐱.png",
    ]  # fmt: skip


def test_order_is_stable(tree):
    assert list(iter_image_files([tree])) == list(iter_image_files([str(tree)]))


def test_explicit_files_are_yielded_whatever_their_name(tree):
    explicit = [tree / "notes.md", tree / ".hidden.jpg", tree / "missing.png", tree / "b.jpg"]
    assert list(iter_image_files(explicit)) == explicit


def test_inputs_keep_their_order_and_walks_are_deduplicated(tree):
    found = list(iter_image_files([tree / "sub", tree / "b.jpg", tree, tree / "b.jpg"]))
    assert names(found, tree) == [
        "sub/deeper/x.Bmp", "sub/deeper/y.gif", "sub/z.webp",
        "b.jpg", "A.JPG", "c.PnG", "e.tiff", "Ölçek/é.jpeg", "猫 🐱.png",
        "b.jpg",  # named twice by the user: one result per argument
    ]  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_terminates(tmp_path):
    root = tmp_path / "root"
    touch(root / "a.jpg")
    touch(root / "inner" / "b.jpg")
    os.symlink(root, root / "inner" / "loop")  # inner/loop -> root
    os.symlink(root / "inner", root / "inner" / "self")
    os.symlink(root / "nowhere", root / "broken.jpg")
    assert names(iter_image_files([root]), root) == ["a.jpg", "inner/b.jpg"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinked_folder_is_followed_once(tmp_path):
    outside = tmp_path / "outside"
    touch(outside / "far.png")
    root = tmp_path / "root"
    touch(root / "near.png")
    os.symlink(outside, root / "link")
    assert names(iter_image_files([root]), root) == ["link/far.png", "near.png"]
    # The same real folder reached again through its own path is not walked twice.
    assert names(iter_image_files([root, outside]), root) == ["link/far.png", "near.png"]


def test_unreadable_folder_is_skipped(tree, monkeypatch):
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(files.os, "scandir", scandir)
    found = names(iter_image_files([tree]), tree)
    assert "sub/z.webp" not in found and "b.jpg" in found


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="chmod cannot stop root listing"
)
def test_unreadable_folder_chmod(tree):
    (tree / "sub").chmod(0)
    try:
        assert "b.jpg" in names(iter_image_files([tree]), tree)
    finally:
        (tree / "sub").chmod(0o755)


def test_windows_hidden_attribute(tmp_path, monkeypatch):
    class Entry:
        name = "visible-name.jpg"

        def stat(self, follow_symlinks=True):
            return type("Stat", (), {"st_file_attributes": 0x2})()

    monkeypatch.setattr(files.sys, "platform", "win32")
    assert files.is_hidden(Entry())


def test_cancel_stops_the_walk(tree):
    token = CancelToken()
    walk = iter_image_files([tree], cancel=token)
    next(walk)
    token.cancel()
    with pytest.raises(Cancelled):
        next(walk)
