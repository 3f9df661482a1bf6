"""Which text encoding a file is in, from its bytes alone.

Byte-order marks first, then UTF-16/32 without a mark (told apart by where the
NUL bytes fall), then strict UTF-8, then charset-normalizer's statistics, with a
preference for the superset codecs Windows actually writes. Tables
(``detect.to_utf8``) and plain text files (``engine.data.text_inputs``) both ask
here, so a file reads the same whichever way it comes in. A guess only names a
codec: nothing here decodes the user's text with ``errors="replace"``.
"""

from __future__ import annotations

import codecs
import unicodedata

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import UserError

MSG_BINARY = N_("{name} does not look like a table: it contains binary data.")
SAMPLE_BYTES = 64 * 1024

_BOMS = (  # UTF-32 LE starts with the UTF-16 LE mark, so it is tested first
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Windows writes the superset; the subset's name would reject its extra characters.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "hz": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "ascii": "utf-8",
    "iso8859-1": "cp1252",
    "euc_jis_2004": "euc_jp",
}
# Single-byte Latin codecs charset-normalizer confuses with each other; cp1252 is
# what Western European files almost always are, so it wins unless it shows junk.
_LATIN = {
    "cp1252",
    "cp1250",
    "cp1254",
    "cp1257",
    "cp775",
    "cp850",
    "cp437",
    "hp_roman8",
    "mac-roman",
    "mac-latin2",
    "mac-iceland",
    "mac-turkish",
    "iso8859-2",
    "iso8859-3",
    "iso8859-4",
    "iso8859-9",
    "iso8859-10",
    "iso8859-13",
    "iso8859-14",
    "iso8859-15",
    "iso8859-16",
    "latin-1",
    "iso8859-1",
}
_PUNCTUATION = set("\u00a0’‘“”–—…€«»°§£¥©®™·¿¡•")


def detect_encoding(data: bytes, name: str) -> str:
    """The codec to read ``data`` with, or UserError when it is binary, not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    head = data[:SAMPLE_BYTES]
    wide = _wide_unicode_without_bom(head)
    if wide:
        return wide
    if b"\x00" in head:
        raise UserError(MSG_BINARY, name=name)
    sample = _non_ascii_sample(data)
    if sample.isascii():
        return "utf-8"
    if _mostly_utf8(sample):
        return "utf-8"  # a damaged UTF-8 file: reading it names the bad line
    return guess_legacy_encoding(sample, name)


def _mostly_utf8(sample: bytes) -> bool:
    """Valid UTF-8, or so nearly (many good multi-byte characters, few bad bytes) that
    it is a UTF-8 file with a damaged spot; legacy text almost never forms valid pairs.
    The lenient decode here only counts; it never produces the text the user gets."""
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError:
        pass
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 127) - bad
    return good >= 8 and good >= 4 * bad


def guess_legacy_encoding(sample: bytes, name: str) -> str:
    """charset-normalizer's best guess for non-UTF-8 bytes, mapped to the superset codec."""
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise UserError(MSG_BINARY, name=name)
    encoding = _prefer_superset(codecs.lookup(best.encoding).name, sample)
    if _looks_binary(sample.decode(encoding, errors="ignore")):
        raise UserError(MSG_BINARY, name=name)
    return encoding


def _prefer_superset(encoding: str, sample: bytes) -> str:
    if encoding in _LATIN:
        junk = {candidate: _latin_junk(sample, candidate) for candidate in (encoding, "cp1252")}
        if junk["cp1252"] is not None and (
            junk[encoding] is None or junk["cp1252"] <= junk[encoding]
        ):
            return "cp1252"
    superset = _SUPERSETS.get(encoding)
    if superset:
        try:
            sample.decode(superset)
            return superset
        except UnicodeDecodeError:
            pass
    return encoding


def _latin_junk(sample: bytes, encoding: str) -> int | None:
    """Non-ASCII characters that are neither letters nor common punctuation (None: undecodable)."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return None
    return sum(1 for c in text if ord(c) > 127 and not c.isalpha() and c not in _PUNCTUATION)


def _wide_unicode_without_bom(head: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, told apart by where the NUL bytes fall."""
    size = len(head) - len(head) % 4
    if size < 8:
        return None
    view = np.frombuffer(head[:size], dtype=np.uint8).reshape(-1, 4)
    zero = (view == 0).mean(axis=0)  # share of NULs at offsets 0..3 of each 4-byte group
    candidates = []
    if zero[2] > 0.9 and zero[3] > 0.9 and zero[0] < 0.5:
        candidates.append("utf-32-le")
    if zero[0] > 0.9 and zero[1] > 0.9 and zero[3] < 0.5:
        candidates.append("utf-32-be")
    odd, even = (zero[1] + zero[3]) / 2, (zero[0] + zero[2]) / 2
    if odd > 0.2 and even < 0.02:
        candidates.append("utf-16-le")
    if even > 0.2 and odd < 0.02:
        candidates.append("utf-16-be")
    for encoding in candidates:
        unit = 4 if "32" in encoding else 2
        try:
            text = head[: len(head) - len(head) % unit].decode(encoding)
        except UnicodeDecodeError:
            try:  # the sample may end inside a surrogate pair
                text = head[: len(head) - len(head) % unit - unit].decode(encoding)
            except UnicodeDecodeError:
                continue
        if not _looks_binary(text):
            return encoding
    return None


def _non_ascii_sample(data: bytes) -> bytes:
    """Up to 64 KB of whole lines that show the encoding: the head, or, when the head is
    plain ASCII, the lines from the first non-ASCII byte on (an accent on row 500,000)."""
    head = data[:SAMPLE_BYTES]
    if not head.isascii() or len(data) <= SAMPLE_BYTES:
        return whole_lines(head, len(data) <= SAMPLE_BYTES)
    view = np.frombuffer(data, dtype=np.uint8)
    high = view >= 0x80
    first = int(high.argmax())
    if not high[first]:
        return head
    start = data.rfind(b"\n", 0, first) + 1
    return whole_lines(data[start : start + SAMPLE_BYTES], start + SAMPLE_BYTES >= len(data))


def whole_lines(chunk: bytes, complete: bool) -> bytes:
    """Cut a sample after its last newline so no multi-byte character is split."""
    if complete:
        return chunk
    end = chunk.rfind(b"\n")
    return chunk[: end + 1] if end > 0 else chunk


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    controls = sum(1 for c in text if c not in "\t\r\n\f\v" and unicodedata.category(c) == "Cc")
    return controls > max(2, len(text) // 100)
