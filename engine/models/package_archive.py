"""One-file packages: a package zipped into a ``.taxon-model`` file, and unpacking one.

Why unpacking is this careful: the file may come from anyone, and a zip says
what it holds in headers nobody checks. A 10 MB archive can claim or hold
gigabytes (a zip bomb), name files outside the folder, hold links, use a
compression this Python cannot read or be encrypted. So the manifest is read
first (size-limited) and validated, only the files it lists are unpacked, each
within its declared size, the total within a limit and the free disk space, and
a refused archive leaves nothing behind. Messages name the user's file, never
the cache folder.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import zipfile
from pathlib import Path

from engine.core.i18n import N_, format_bytes
from engine.core.jobs import UserError
from engine.models import package_swap
from engine.models.manifest import (
    ARCHIVE_SUFFIX,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    MSG_SAVE_FAILED,
    UNSAFE_SUFFIXES,
    parse_manifest,
    sha256_file,
)

log = logging.getLogger(__name__)

MAX_ARCHIVE_FILES = 200
#: Never unpack more than this, whatever the archive claims.
MAX_UNPACKED_BYTES = 4 * 1024**3
#: Free space left on the disk after unpacking.
FREE_SPACE_MARGIN = 512 * 1024**2
SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_CHUNK = 1 << 20

MSG_BAD_ARCHIVE = N_("“{path}” is not a readable Taxon model file.")
MSG_ENCRYPTED = N_(
    "“{path}” is protected by a password. Taxon opens only model files "
    "without a password; export the model again from Taxon."
)
MSG_METHOD = N_(
    "“{path}” is compressed in a way Taxon cannot read. Export the model again "
    "from Taxon, or zip it without compression."
)
MSG_TOO_LARGE = N_("“{path}” would unpack to {size}, more than Taxon opens ({limit}).")
MSG_NO_SPACE = N_("There is not enough free disk space to open “{path}”: it needs {size}.")


class _Refused(Exception):
    """An archive refused for a reason only the log needs (the user sees MSG_BAD_ARCHIVE)."""


# --------------------------------------------------------------------------- writing


def archive_target(package_name: str, out_file: str | os.PathLike[str]) -> Path:
    """Where ``export --out`` writes: inside an existing folder or a path ending in a
    separator, as ``<name>.taxon-model``; elsewhere the path itself, suffix added."""
    raw = os.fspath(out_file)
    target = Path(raw)
    if raw.endswith(("/", os.sep)) or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return target / (safe_file_name(package_name) + ARCHIVE_SUFFIX)
    if target.suffix != ARCHIVE_SUFFIX:
        target = target.with_name(target.name + ARCHIVE_SUFFIX)
    return target


def safe_file_name(name: str) -> str:
    """A model's display name as a file name on every system (no separators, no reserved
    characters, no leading dot)."""
    cleaned = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', "_", name).strip(" .")
    return cleaned[:120] or "model"


def write_archive(
    folder: Path, manifest: dict, name: str, out_file: str | os.PathLike[str]
) -> Path:
    """Zip a loaded (so validated) package into one ``.taxon-model`` file (stored: weights
    do not shrink)."""
    target = archive_target(name, out_file)
    staging = package_swap.staging_path(target)
    try:
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_STORED) as archive:
            for member in [*manifest["files"], MANIFEST_NAME]:
                archive.write(folder / member, member)
        os.replace(staging, target)
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise UserError(MSG_SAVE_FAILED, details=str(error), path=str(target)) from error
    return target


# --------------------------------------------------------------------------- opening


def open_archive(path: str | os.PathLike[str]) -> Path:
    """Unpack a ``.taxon-model`` file into the cache (once per content) and return the folder.

    Only the manifest and the files it lists are written, each checked against
    its size and checksum; anything wrong refuses the whole archive.
    """
    from engine.core.paths import user_cache_dir

    archive_path = Path(path)
    shown = str(archive_path)
    try:
        digest = sha256_file(archive_path)
    except OSError as error:
        raise UserError(MSG_BAD_ARCHIVE, details=str(error), path=shown) from error
    target = user_cache_dir() / "opened-models" / digest[:24]
    with package_swap.target_lock(target):
        package_swap.recover(target)
        if (target / MANIFEST_NAME).is_file():
            return target
        shutil.rmtree(target, ignore_errors=True)  # a half-unpacked earlier attempt
        _unpack(archive_path, target, shown)
    return target


def _unpack(archive_path: Path, target: Path, shown: str) -> None:
    staging = package_swap.staging_path(target)
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = _listed_members(archive, shown)
            _check_room(members, target.parent, shown)
            staging.mkdir(parents=True)
            for member in members:
                _extract(archive, member, staging)
        os.replace(staging, target)
    except UserError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, _Refused) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(
            MSG_BAD_ARCHIVE, details=f"{type(error).__name__}: {error}", path=shown
        ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _listed_members(archive: zipfile.ZipFile, shown: str) -> list[zipfile.ZipInfo]:
    """The manifest's member and those it lists, after every check that needs no writing."""
    members = archive.infolist()
    if len(members) > MAX_ARCHIVE_FILES:
        raise _Refused(f"{len(members)} members")
    by_name: dict[str, zipfile.ZipInfo] = {}
    for member in members:
        _check_name(member)
        if member.filename in by_name:
            raise _Refused(f"{member.filename!r} appears twice")
        by_name[member.filename] = member
    if MANIFEST_NAME not in by_name:
        raise _Refused(f"no {MANIFEST_NAME}")
    manifest = parse_manifest(_read_manifest_member(archive, by_name[MANIFEST_NAME], shown), shown)
    wanted = [*manifest["files"], MANIFEST_NAME]
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise _Refused(f"listed but absent: {missing[:5]}")
    ignored = sorted(set(by_name) - set(wanted))
    if ignored:
        log.info("%s: not unpacking %d unlisted member(s): %s", shown, len(ignored), ignored[:5])
    chosen = [by_name[name] for name in wanted]
    for member in chosen:
        _check_readable(member, shown)
    return chosen


def _check_name(member: zipfile.ZipInfo) -> None:
    name = Path(member.filename)
    link = (member.external_attr >> 16) & 0o170000 == 0o120000
    if (
        member.is_dir()
        or link
        or name.is_absolute()
        or ".." in name.parts
        or member.filename.startswith(("/", "\\"))
        or ":" in member.filename
        or "\\" in member.filename
        or name.suffix.lower() in UNSAFE_SUFFIXES
    ):
        raise _Refused(f"refused member {member.filename!r}")


def _check_readable(member: zipfile.ZipInfo, shown: str) -> None:
    if member.flag_bits & 0x1:
        raise UserError(MSG_ENCRYPTED, details=member.filename, path=shown)
    if member.compress_type not in SUPPORTED_METHODS:
        raise UserError(
            MSG_METHOD, details=f"{member.filename}: method {member.compress_type}", path=shown
        )


def _read_manifest_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, shown: str) -> bytes:
    _check_readable(member, shown)
    if member.file_size > MAX_MANIFEST_BYTES:
        raise _Refused("the manifest is too large")
    with archive.open(member) as source:
        data = source.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES or len(data) != member.file_size:
        raise _Refused("the manifest is not the size its header says")
    return data


def _check_room(members: list[zipfile.ZipInfo], cache: Path, shown: str) -> None:
    total = sum(member.file_size for member in members)
    if total > MAX_UNPACKED_BYTES:
        raise UserError(
            MSG_TOO_LARGE,
            details=f"{total} bytes declared",
            path=shown,
            size=format_bytes(total),
            limit=format_bytes(MAX_UNPACKED_BYTES),
        )
    cache.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache).free
    if total > free - FREE_SPACE_MARGIN:
        raise UserError(
            MSG_NO_SPACE,
            details=f"{total} bytes needed, {free} free",
            path=shown,
            size=format_bytes(total),
        )


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path) -> None:
    """Copy one member, stopping as soon as it holds more than its header declares."""
    destination = staging / member.filename
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(member) as source, open(destination, "wb") as out:
        while block := source.read(_CHUNK):
            written += len(block)
            if written > member.file_size:
                raise _Refused(f"{member.filename!r} is larger than its header says")
            out.write(block)
    if written != member.file_size:
        raise _Refused(f"{member.filename!r} is smaller than its header says")
