"""A results file that grows as results come in and lets a killed run continue.

``classify --output FILE`` writes each result as soon as its batch is done, so a
run over a million files that is killed, loses power or is stopped with Ctrl+C
keeps everything classified so far. Each batch is appended in one write, then
flushed and fsync'ed: after a crash the file holds whole batches, at worst
followed by one partial line, which ``--resume`` drops before appending.

Two formats, chosen by the file's extension: JSON Lines (one object per line,
the same objects ``--json`` prints) and CSV (``engine.data.result_export.STREAM_CSV_COLUMNS``,
formula-safe, UTF-8 with a byte-order mark like every CSV Taxon writes). Every
record holds the input's path, size and modification time: ``--resume`` skips an
input only when all three match, so a file replaced since is classified again.

The resume index keeps 8 bytes per recorded input (a BLAKE2b of path, size and
mtime in a sorted NumPy array), not the paths: 80 MB for ten million inputs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.data.result_export import STREAM_CSV_COLUMNS, restore_formula, stream_csv_cells

MSG_EXISTS = N_("{name} already exists. Add --resume to continue it, or choose another file.")
MSG_CANNOT_WRITE = N_("Could not write {name}.")
MSG_CANNOT_READ = N_("Could not read {name} to resume from it.")

_BOM = "\ufeff".encode()


def result_key(path: str, size: int | None, mtime_ns: int | None) -> int:
    """A 64-bit key for (path, size, mtime); -1 stands for "unknown" (a missing file)."""
    text = (
        f"{path}\0{-1 if size is None else int(size)}\0{-1 if mtime_ns is None else int(mtime_ns)}"
    )
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class ResumeIndex:
    """Which (path, size, mtime) a results file already holds, in 8 bytes each."""

    def __init__(self, keys: Iterator[int] | None = None) -> None:
        collected = array("Q", keys or ())
        self._keys = (
            np.unique(np.frombuffer(collected, dtype=np.uint64))
            if collected
            else np.empty(0, dtype=np.uint64)
        )
        #: Records read (a resumed input counts once however often it was written).
        self.count = int(self._keys.size)

    def __contains__(self, key: int) -> bool:
        if not self._keys.size:
            return False
        position = int(np.searchsorted(self._keys, np.uint64(key)))
        return position < self._keys.size and int(self._keys[position]) == key

    def has(self, path: str, size: int | None, mtime_ns: int | None) -> bool:
        return result_key(path, size, mtime_ns) in self


def kind_of(path: str | os.PathLike[str]) -> str:
    """ "csv" for a .csv file, else "jsonl"."""
    return "csv" if str(path).lower().endswith(".csv") else "jsonl"


class ResultLog:
    """Appends result records to a file, one durable batch at a time.

    ``add`` queues a record (a ``dict`` shaped like ``classify --json``'s objects plus
    ``size`` and ``mtime_ns``); ``commit`` appends the queued records in one write,
    flushes and fsyncs. ``resume=True`` reads what the file holds first
    (``self.index``), dropping a partial last line; without it an existing non-empty
    file is refused rather than overwritten.
    """

    def __init__(self, path: str | os.PathLike[str], resume: bool = False) -> None:
        self.path = Path(path)
        self.kind = kind_of(self.path)
        self.index = ResumeIndex()
        self._queued: list[str] = []
        name = self.path.name or str(self.path)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not resume:
            raise UserError(MSG_EXISTS, str(self.path), name=name)
        try:
            if exists:
                self.index = ResumeIndex(self._read_keys())
            self._handle: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed in close()
            if self._handle.tell() == 0 and self.kind == "csv":
                self._handle.write(_BOM + _csv_line(list(STREAM_CSV_COLUMNS)).encode("utf-8"))
                self._sync()
        except UserError:
            raise
        except OSError as error:
            raise UserError(MSG_CANNOT_WRITE, str(error), name=name) from error

    # -- writing --------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> None:
        if self.kind == "csv":
            self._queued.append(_csv_line(stream_csv_cells(_csv_row(record))))
        else:
            self._queued.append(json.dumps(record, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        """Append the queued records durably (one write, flush, fsync)."""
        if not self._queued:
            return
        data, self._queued = "".join(self._queued).encode("utf-8"), []
        try:
            self._handle.write(data)
            self._sync()
        except OSError as error:
            raise UserError(MSG_CANNOT_WRITE, str(error), name=self.path.name) from error

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._handle.close()

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    # -- reading (resume) --------------------------------------------------------
    def _read_keys(self) -> Iterator[int]:
        """Keys of the records in the file; a partial last line is cut off first."""
        try:
            _drop_partial_tail(self.path)
            if self.kind == "csv":
                yield from _csv_keys(self.path)
            else:
                yield from _jsonl_keys(self.path)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise UserError(MSG_CANNOT_READ, str(error), name=self.path.name) from error


def _drop_partial_tail(path: Path) -> None:
    """Truncate the file after its last line end (a crash mid-write leaves half a line)."""
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        position, block = size, 1 << 16
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                if end != size:
                    handle.truncate(end)
                return
            position = start
        handle.truncate(0)  # not one whole line


def _jsonl_keys(path: Path) -> Iterator[int]:
    with open(path, "rb") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("input"), str):
                yield result_key(record["input"], record.get("size"), record.get("mtime_ns"))


def _csv_keys(path: Path) -> Iterator[int]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("path"):
                continue
            yield result_key(
                restore_formula(row["path"]), _int(row.get("size")), _int(row.get("mtime_ns"))
            )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _csv_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``classify --json`` object as an export row (path, label, score, top, error)."""
    predictions = record.get("predictions") or []
    best = predictions[0] if predictions else {}
    return {
        "path": record.get("input"),
        "label": best.get("label"),
        "score": best.get("score"),
        "top": predictions,
        "error": record.get("error"),
        "size": record.get("size"),
        "mtime_ns": record.get("mtime_ns"),
    }


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()
