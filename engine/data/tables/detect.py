"""Recognising what a table file holds: its format, text encoding and delimiter.

People bring tables from every corner of the world: Excel in Shanghai saves CSV as
GB18030, in Tokyo as Shift-JIS (CP932), in Paris as Windows-1252, and everyone
renames files. So the format comes from the content's magic bytes before the
extension, and the encoding is guessed from the bytes (``encoding_guess``) unless the
user chose one. Nothing here ever decodes with ``errors="replace"``: a wrong guess
must fail loudly, naming the line, rather than garble the user's data.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.data.tables.encoding_guess import (
    SAMPLE_BYTES,
    detect_encoding,
    guess_legacy_encoding,
    whole_lines,
)

MSG_DECODE = N_(
    "{name} cannot be read as {encoding}: the bytes on line {line} are not valid in that "
    "encoding. Choose another encoding."
)
MSG_UNKNOWN_ENCODING = N_("{encoding} is not a text encoding Taxon knows.")
MSG_OLD_EXCEL = N_(
    "{name} is an old Excel (.xls) or password-protected workbook. Save it as .xlsx or CSV "
    "and try again."
)

#: Encodings the UI offers when the user overrides detection: (Python codec, display name).
SUPPORTED_ENCODINGS: list[tuple[str, str]] = [
    ("utf-8", N_("Unicode (UTF-8)")),
    ("utf-8-sig", N_("Unicode (UTF-8 with BOM)")),
    ("utf-16", N_("Unicode (UTF-16)")),
    ("utf-16-le", N_("Unicode (UTF-16 LE, no BOM)")),
    ("utf-16-be", N_("Unicode (UTF-16 BE, no BOM)")),
    ("utf-32", N_("Unicode (UTF-32)")),
    ("gb18030", N_("Chinese Simplified (GB18030, GBK)")),
    ("big5", N_("Chinese Traditional (Big5)")),
    ("cp932", N_("Japanese (Shift-JIS, CP932)")),
    ("euc_jp", N_("Japanese (EUC-JP)")),
    ("cp949", N_("Korean (EUC-KR, CP949)")),
    ("cp1252", N_("Western European (Windows-1252)")),
    ("iso8859-1", N_("Western European (ISO-8859-1)")),
    ("iso8859-15", N_("Western European (ISO-8859-15)")),
    ("cp1250", N_("Central European (Windows-1250)")),
    ("iso8859-2", N_("Central European (ISO-8859-2)")),
    ("cp1251", N_("Cyrillic (Windows-1251)")),
    ("koi8-r", N_("Cyrillic (KOI8-R)")),
    ("cp1253", N_("Greek (Windows-1253)")),
    ("cp1254", N_("Turkish (Windows-1254)")),
    ("cp1255", N_("Hebrew (Windows-1255)")),
    ("cp1256", N_("Arabic (Windows-1256)")),
    ("iso8859-6", N_("Arabic (ISO-8859-6)")),
    ("cp874", N_("Thai (Windows-874)")),
    ("cp1258", N_("Vietnamese (Windows-1258)")),
]

EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet")
DELIMITERS = (",", ";", "\t", "|")

_ZIP, _PARQUET, _OLE = b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_STATEFUL = ("utf-16", "utf-32", "utf-7", "hz", "iso2022")


def codec_name(encoding: str) -> str:
    """The canonical Python name of ``encoding``; UserError when Python has no such codec
    or it is not one of text (``rot13``, ``base64`` and ``zlib`` are codecs of another kind)."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError) as error:
        raise UserError(MSG_UNKNOWN_ENCODING, str(error), encoding=str(encoding)) from error
    if not getattr(info, "_is_text_encoding", True):
        raise UserError(
            MSG_UNKNOWN_ENCODING, f"{info.name} is not a text encoding", encoding=str(encoding)
        )
    return info.name


def sniff_format(head: bytes, suffix: str) -> str:
    """``csv``/``tsv``/``xlsx``/``jsonl``/``parquet`` from magic bytes, then the extension.

    Magic bytes win because "export.csv" that is really a workbook is common; a
    file with no known extension whose text starts with ``{`` is JSON Lines.
    """
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_PARQUET):
        return "parquet"
    if head.startswith(_OLE):
        return "xls"
    known = EXTENSIONS.get(suffix.lower())
    if known:
        return known
    stripped = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")
    return "jsonl" if stripped.startswith(b"{") else "csv"


def line_of(data: bytes, position: int, encoding: str) -> int:
    """The 1-based line holding byte ``position`` (for error messages)."""
    if _is_chunkable(encoding):
        return data.count(b"\n", 0, position) + 1
    return data[:position].decode(encoding, errors="ignore").count("\n") + 1


def _is_chunkable(encoding: str) -> bool:
    """Whether ``encoding`` decodes correctly when split at ``\\n`` bytes (no state, ASCII
    newlines that never occur inside a multi-byte character)."""
    if encoding.startswith(_STATEFUL):
        return False
    try:
        return "\n".encode(encoding) == b"\n"
    except (LookupError, UnicodeError):
        return False


def transcode_to_utf8(data: bytes, encoding: str, name: str, step=None) -> bytes:
    """``data`` re-encoded as UTF-8 (strictly), in ~8 MB chunks so ``step(bytes_done)``
    can report progress and cancel; UserError naming the line on the first bad byte."""
    if not _is_chunkable(encoding):
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as error:
            raise UserError(
                MSG_DECODE,
                str(error),
                name=name,
                encoding=encoding,
                line=line_of(data, error.start, encoding),
            ) from error
    parts, start, size = [], 0, len(data)
    while start < size:
        end = data.find(b"\n", min(start + (8 << 20), size))
        end = size if end < 0 else end + 1
        try:
            parts.append(data[start:end].decode(encoding).encode("utf-8"))
        except UnicodeDecodeError as error:
            raise UserError(
                MSG_DECODE,
                str(error),
                name=name,
                encoding=encoding,
                line=line_of(data, start + error.start, encoding),
            ) from error
        start = end
        if step is not None:
            step(start)
    return b"".join(parts)


def to_utf8(
    data: bytes, encoding: str | None, name: str, step: Callable[[int], None] | None = None
) -> tuple[bytes, str]:
    """``data`` as UTF-8 bytes without a BOM, and the codec it was read with.

    ``step(bytes_done)`` reports transcoding progress (and may raise to cancel).
    UTF-8 is validated, not copied (pyarrow checks a whole file in milliseconds). If
    detection said UTF-8 from a sample but a later line is not, and everything before it
    was plain ASCII, the encoding is detected again from that line on; otherwise the
    error names the line: a UTF-8 file with one broken line must not be re-read as
    Windows-1252 and garbled everywhere else.
    """
    forced = encoding is not None
    used = encoding or detect_encoding(data, name)
    if used not in ("utf-8", "utf-8-sig"):
        return transcode_to_utf8(data, used, name, step), used
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    bad = _first_invalid_utf8(body)
    if bad is None:
        return body, used
    if not forced and body[:bad].isascii():
        start = body.rfind(b"\n", 0, bad) + 1
        window = body[start : start + SAMPLE_BYTES]
        guess = guess_legacy_encoding(whole_lines(window, False), name)
        if guess not in ("utf-8", "utf-8-sig"):
            return to_utf8(data, guess, name, step)
    raise UserError(MSG_DECODE, name=name, encoding=used, line=line_of(body, bad, "utf-8"))


def _first_invalid_utf8(data: bytes) -> int | None:
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
        return None
    except pa.ArrowInvalid:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            return error.start
        return None


def detect_delimiter(sample: str, preferred: str = ",") -> str:
    """The delimiter among ``, ; TAB |`` that splits the sample into a consistent table.

    A candidate qualifies when the header and at least 90% of the rows have the same
    number (> 1) of fields, parsed with real CSV quoting. Among qualifiers the preferred
    one (tab for .tsv) wins, then csv.Sniffer's pick, then the most consistent one. With no
    qualifier the file has one column and the preferred delimiter is as good as any.
    """
    scores = {}
    for delimiter in DELIMITERS:
        records = [r for r in _records(sample, delimiter) if r]
        if len(records) < 1:
            continue
        counts = Counter(len(r) for r in records)
        mode, hits = counts.most_common(1)[0]
        if mode > 1 and len(records[0]) == mode and hits >= 0.9 * len(records):
            scores[delimiter] = (hits / len(records), mode)
    if not scores:
        return preferred
    if preferred in scores:
        return preferred
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores:
        return sniffed
    return max(scores, key=lambda d: (scores[d], -DELIMITERS.index(d)))


def _records(sample: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def decode_sample(data: bytes, name: str, limit: int = SAMPLE_BYTES) -> str:
    """The first whole lines of UTF-8 ``data`` as text (UserError naming a bad line)."""
    chunk = whole_lines(data[:limit], len(data) <= limit)
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            MSG_DECODE,
            str(error),
            name=name,
            encoding="utf-8",
            line=line_of(data, error.start, "utf-8"),
        ) from error


def display_encoding(encoding: str | None) -> str | None:
    """The untranslated display name for a codec (marked N_), or the codec name itself."""
    if encoding is None:
        return None
    canonical = codecs.lookup(encoding).name
    for codec, label in SUPPORTED_ENCODINGS:
        if codecs.lookup(codec).name == canonical:
            return label
    return encoding


def duplicates(values: Sequence[str]) -> list[str]:
    """Values that occur more than once, each listed once, in first-seen order."""
    seen, repeated = set(), []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated
