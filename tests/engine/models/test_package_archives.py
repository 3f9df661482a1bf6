"""One-file packages (``.taxon-model``) from strangers: bombs, lies about sizes, encryption,
unknown compression, damage named by the user's file; and exports into a folder."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from engine.core.jobs import UserError
from engine.models import package as modelpack
from engine.models.package import load_package
from tests.helpers.packages import (
    save_package_at,
)

# ------------------------------------------------------------------ 6: hostile one-file packages


def _cache_folders() -> list[Path]:
    from engine.core.paths import user_cache_dir

    folder = user_cache_dir() / "opened-models"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _rezip(source: Path, archive: Path, extra=None) -> None:
    """Zip a package folder (deflated), with extra members."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(source.iterdir()):
            info = zipfile.ZipInfo(path.name)
            info.compress_type = zipfile.ZIP_DEFLATED
            handle.writestr(info, path.read_bytes())
        for name, data in (extra or {}).items():
            handle.writestr(name, data)


def _patch_central(
    archive: Path, member: str, offset: int, value: bytes, local_offset: int | None = None
) -> None:
    """Overwrite bytes of one member's central-directory (and local) header."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo(member)
    name = member.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        if data[central + 46 : central + 46 + len(name)] == name:
            break
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + offset : central + offset + len(value)] = value
    if local_offset is not None:
        start = info.header_offset + local_offset
        data[start : start + len(value)] = value
    archive.write_bytes(bytes(data))


@pytest.fixture
def package_folder(tmp_path):
    return save_package_at(tmp_path / "model")


def test_a_zip_bomb_member_the_manifest_does_not_list_is_never_unpacked(tmp_path, package_folder):
    archive = tmp_path / "bomb.taxon-model"
    _rezip(package_folder, archive, extra={"padding.txt": bytes(64 * 1024 * 1024)})
    assert archive.stat().st_size < 1024 * 1024
    package = load_package(archive)
    assert not (package.path / "padding.txt").exists()
    assert sum(p.stat().st_size for p in package.path.rglob("*")) < 1024 * 1024


def test_a_member_declaring_a_huge_size_is_refused_before_writing(tmp_path, package_folder):
    archive = tmp_path / "huge.taxon-model"
    _rezip(package_folder, archive)
    _patch_central(archive, "model.safetensors", 24, (2**32 - 16).to_bytes(4, "little"))
    before = _cache_folders()
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert str(archive) in raised.value.message
    assert _cache_folders() == before


def test_a_member_larger_than_its_header_says_is_refused_and_cleaned(tmp_path, package_folder):
    archive = tmp_path / "liar.taxon-model"
    _rezip(package_folder, archive)
    _patch_central(archive, "MODEL_CARD.md", 24, (3).to_bytes(4, "little"), local_offset=22)
    before = _cache_folders()
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert "not a readable Taxon model file" in raised.value.message
    assert str(archive) in raised.value.message
    assert _cache_folders() == before


def test_an_encrypted_member_is_refused_with_its_own_message(tmp_path, package_folder):
    archive = tmp_path / "locked.taxon-model"
    _rezip(package_folder, archive)
    _patch_central(archive, "MODEL_CARD.md", 8, (1).to_bytes(2, "little"), local_offset=6)
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert "password" in raised.value.message and str(archive) in raised.value.message


def test_an_unknown_compression_method_is_refused_with_its_own_message(tmp_path, package_folder):
    archive = tmp_path / "aes.taxon-model"
    _rezip(package_folder, archive)
    _patch_central(archive, "MODEL_CARD.md", 10, (99).to_bytes(2, "little"), local_offset=8)
    before = _cache_folders()
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert "compressed in a way" in raised.value.message
    assert _cache_folders() == before


def test_a_damaged_one_file_package_is_named_by_the_users_file(tmp_path, package_folder):
    (package_folder / "MODEL_CARD.md").write_text("# changed after saving", encoding="utf-8")
    archive = tmp_path / "damaged.taxon-model"
    _rezip(package_folder, archive)
    before = _cache_folders()
    with pytest.raises(UserError) as raised:
        load_package(archive)
    assert raised.value.params["path"] == str(archive)
    assert _cache_folders() == before


# ------------------------------------------------------------------ 9: export into a folder


def test_export_into_an_existing_folder_writes_inside_it(tmp_path, package_folder):
    out = tmp_path / "exports"
    out.mkdir()
    archive = modelpack.write_archive(package_folder, out)
    assert archive == out / "cats and dogs.taxon-model" and archive.is_file()
    fresh = modelpack.write_archive(package_folder, str(tmp_path / "new-folder") + os.sep)
    assert fresh == tmp_path / "new-folder" / "cats and dogs.taxon-model" and fresh.is_file()
    assert load_package(fresh).labels == ["cat", "dog"]
