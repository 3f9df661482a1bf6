"""Reading Taxon's own JSON files: right format, a version this Taxon understands, or a clear no.

Every file Taxon writes for itself (a project, a model package's manifest, an
evaluation, a cleaning plan, the model library) names its ``format`` and a
format version. Reading one follows the same steps everywhere, kept here once:
parse the bytes, check the format name, check the version is a whole number
from ``oldest`` up, and tell a file from a *newer* Taxon (the user should update)
apart from a damaged one (the user should restore or recreate it). Each caller
supplies its own messages, since what the user can do differs per file.

Two names for the version key exist in files already on users' disks:
``version`` (projects, evaluations, cleaning plans, the model library) and
``format_version`` (model manifests). Both are read, ``format_version`` first.
New writes use ``VERSION_KEY`` (``version``): it is what four of the five
formats have always written, so no file changes and the previous release still
reads what this one writes. The model manifest is the one exception and keeps
``format_version``: it is covered by the manifest's own checksum, and every
released Taxon refuses a manifest without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The key new files carry their format version under (see the module docstring).
VERSION_KEY = "version"
#: Also read: the model manifest's key.
MANIFEST_VERSION_KEY = "format_version"


@dataclass(frozen=True)
class JsonFormat:
    """What one kind of file must say about itself.

    ``name`` is the expected ``format`` value (None for files that never carried
    one, like cleaning plans); versions ``oldest``..``newest`` are understood.
    """

    name: str | None
    newest: int
    oldest: int = 1


def version_of(data: Any) -> Any:
    """The format version a parsed file states, under either key (None when absent)."""
    if not isinstance(data, dict):
        return None
    if MANIFEST_VERSION_KEY in data:
        return data[MANIFEST_VERSION_KEY]
    return data.get(VERSION_KEY)


def check_versioned(
    data: Any,
    spec: JsonFormat,
    *,
    damaged: Callable[[str], Exception],
    newer: Callable[[int], Exception | None] | None = None,
) -> dict[str, Any]:
    """``data`` as a dict once its format and version check out; raises ``damaged(problem)``
    (``problem`` in plain English for the details and the log) or ``newer(version)``.

    Without ``newer`` a version above ``spec.newest`` is damage; a ``newer`` that
    returns None lets the file through, for formats whose readers skip what they do
    not know.
    """
    if spec.name is not None and (not isinstance(data, dict) or data.get("format") != spec.name):
        raise damaged(f"not a {spec.name} file")
    if not isinstance(data, dict):
        raise damaged("not a JSON object")
    version = version_of(data)
    if not isinstance(version, int) or isinstance(version, bool) or version < spec.oldest:
        raise damaged(f"bad version {version!r}")
    if version > spec.newest:
        error = newer(version) if newer is not None else damaged(f"unsupported version {version}")
        if error is not None:
            raise error
    return data


def read_versioned_json(
    source: bytes | str | os.PathLike[str],
    spec: JsonFormat,
    *,
    damaged: Callable[[str], Exception],
    newer: Callable[[int], Exception | None] | None = None,
    encoding: str = "utf-8",
) -> dict[str, Any]:
    """Parse ``source`` (the file's bytes, or its path) and ``check_versioned`` it.

    Bytes that are not JSON in ``encoding`` (or nest too deep to parse) are damage,
    as is a file that cannot be read; ``encoding="utf-8-sig"`` also takes a file a
    text editor saved with a byte-order mark.
    """
    if isinstance(source, bytes):
        raw = source
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as error:
            raise damaged(f"{type(error).__name__}: {error}") from error
    try:
        data = json.loads(raw.decode(encoding))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise damaged(f"not valid JSON: {str(error)[:200]}") from error
    return check_versioned(data, spec, damaged=damaged, newer=newer)
