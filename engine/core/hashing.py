"""SHA-256 of a file: one helper for package checksums, backbone checks and caches."""

from __future__ import annotations

import hashlib
import os

from engine.core.jobs import CancelToken

_BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike[str], cancel: CancelToken | None = None) -> str:
    """Hex digest of the file's bytes; with ``cancel``, checked between 1 MiB blocks.

    Without a token ``hashlib.file_digest`` reads in C, which matters for
    multi-gigabyte weights; with one, the loop lets the user stop a long check.
    """
    with open(path, "rb") as handle:
        if cancel is None:
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(_BLOCK), b""):
            cancel.raise_if_cancelled()
            digest.update(block)
    return digest.hexdigest()
