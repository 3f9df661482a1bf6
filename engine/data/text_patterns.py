"""The regexes behind text repair, built from code point ranges in two syntaxes.

``textnorm`` tests every text twice over: per string with Python's ``re`` (the scalar
forms) and per column with RE2 through pyarrow (the column forms). Both must match
exactly the same characters, so each pattern is written once, as lists of code point
ranges, and rendered into either syntax here. The classes that depend on the Unicode
tables (characters NFKC or casefolding may change) are derived from this Python's
``unicodedata`` on first use, so they never drift from what ``normalize_text`` does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# ------------------------------------------------------------------ character classes


def char_class(ranges: list[tuple[int, int]], engine: str, negate: bool = False) -> str:
    """One ``[...]`` class in Python ``re`` (``\\UXXXXXXXX``) or RE2 (``\\x{XXXX}``) syntax."""

    def esc(code: int) -> str:
        return f"\\x{{{code:04X}}}" if engine == "re2" else f"\\U{code:08X}"

    body = "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


#: Control and format characters that are never meant to be in a label's text:
#: C0/C1 controls except tab and newline (CR is whitespace), soft hyphen, zero-width
#: space, direction marks and embeddings, word joiners, BOM, interlinear annotations.
_INVISIBLE = [
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0xAD, 0xAD),
    (0x200B, 0x200B),
    (0x200E, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
]
#: What Python's ``str.split()`` calls whitespace, minus the controls removed above.
_SPACE = [
    (0x09, 0x0A),
    (0x0D, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
]
_HSPACE = [r for r in _SPACE if r != (0x09, 0x0A)] + [(0x09, 0x09)]
#: UTF-8 read as cp1252/Latin-1: a lead byte (Â..ô) then a continuation byte (0x80-0xBF
#: in Latin-1, or the cp1252 letters those bytes become).
_LEAD = [(0xC2, 0xF4)]
_CONT = [
    (0x80, 0xBF),
    (0x152, 0x153),
    (0x160, 0x161),
    (0x178, 0x178),
    (0x17D, 0x17E),
    (0x192, 0x192),
    (0x2C6, 0x2C6),
    (0x2DC, 0x2DC),
    (0x2013, 0x2014),
    (0x2018, 0x201E),
    (0x2020, 0x2022),
    (0x2026, 0x2026),
    (0x2030, 0x2030),
    (0x2039, 0x203A),
    (0x20AC, 0x20AC),
    (0x2122, 0x2122),
]
#: UTF-8 Cyrillic read as cp1251: "Р"/"С" then a cp1251 continuation character.
_CYR_LEAD = [(0x420, 0x421)]
_CYR_CONT = [
    (0x402, 0x403),
    (0x409, 0x40C),
    (0x40E, 0x40F),
    (0x452, 0x453),
    (0x459, 0x45C),
    (0x45E, 0x45F),
    (0x401, 0x401),
    (0x404, 0x404),
    (0x406, 0x407),
    (0x408, 0x408),
    (0x405, 0x405),
    (0x451, 0x451),
    (0x454, 0x458),
    (0x490, 0x491),
    (0x2116, 0x2116),
    (0xA0, 0xA0),
    (0xA4, 0xA4),
    (0xA6, 0xA7),
    (0xA9, 0xA9),
    (0xAB, 0xAE),
    (0xB0, 0xB1),
    (0xB5, 0xB7),
    (0xBB, 0xBB),
    (0x2018, 0x201E),
    (0x2020, 0x2022),
    (0x2026, 0x2026),
    (0x2030, 0x2030),
    (0x2039, 0x203A),
    (0x20AC, 0x20AC),
    (0x2122, 0x2122),
]


def _patterns(engine: str) -> dict[str, str]:
    cls = lambda ranges, neg=False: char_class(ranges, engine, neg)  # noqa: E731
    space, hspace = cls(_SPACE), cls(_HSPACE)
    return {
        "invisible": cls(_INVISIBLE),
        "hint": (
            f"{cls(_LEAD)}{cls(_CONT)}|{cls(_CYR_LEAD)}{cls(_CYR_CONT)}"
            f"|{char_class([(0x1B, 0x1B), (0x80, 0x9F)], engine)}"
        ),
        "blank": f"^(?:{space}|{cls(_INVISIBLE)})*$",
        "hspace": f"{hspace}+",
        "newline": f" ?\\n{space}*",
        "trim": f"^{space}+|{space}+$",
        # anything textnorm's _tidy_spaces would change: odd whitespace, runs, or space at an end
        "untidy": f"{cls([r for r in _SPACE if r != (0x20, 0x20)])}|  |^ | $",
    }


RE2 = _patterns("re2")
PY = {name: re.compile(pattern) for name, pattern in _patterns("re").items()}

#: RE2 pattern (for ``Series.str.contains`` on Arrow strings or ``pyarrow.compute``)
#: matching one invisible or control character.
INVISIBLE_PATTERN = RE2["invisible"]


def code_ranges(codes) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


#: Blocks where no character is changed by NFKC or casefolding, combines or has a
#: combining class: CJK ideographs, Hangul syllables, surrogates and private use, and
#: everything above plane 2 (tags, private use). Skipping them makes the scan below
#: ~5x quicker; ``tests/engine/cleaning/test_text_checks.py`` checks it against a full scan.
_QUIET_BLOCKS = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xD800, 0xF8FF),
    (0x20000, 0x2F7FF),
    (0x30000, 0x10FFFF),
)


def _scanned() -> list[int]:
    codes, start = [], 0x80
    for low, high in _QUIET_BLOCKS:
        codes.extend(range(start, low))
        start = high + 1
    return codes


@lru_cache(maxsize=1)
def special_classes() -> tuple[str, str]:
    """RE2 classes (NFKC suspects, casefold specials), from this Python's Unicode tables.

    NFKC suspects: every character that can make a string not NFKC-normal, i.e. ones
    NFKC changes, ones that compose with a predecessor, and combining marks (which
    NFKC may reorder). A string with none of them is already normal, which spares the
    per-string Python check for almost all text. Casefold specials: characters whose
    ``casefold()`` differs from ``lower()`` (ß, ς, ...).
    """
    suspects: set[int] = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V, T
    folds: list[int] = []
    for code in _scanned():
        char = chr(code)
        if unicodedata.combining(char) or not unicodedata.is_normalized("NFKC", char):
            suspects.add(code)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            suspects.add(int(parts[1], 16))  # the second half of a canonical pair composes
        lower = char.lower()
        if lower.casefold() != lower:
            folds.append(code)
    return char_class(code_ranges(suspects), "re2"), char_class(code_ranges(folds), "re2")


def nfkc_suspect_pattern() -> str:
    return special_classes()[0]


def _casefold_pattern() -> str:
    return special_classes()[1]


@lru_cache(maxsize=1)
def attention_pattern() -> str:
    """Anything normalisation or key-making could change beyond lower-casing and
    punctuation: one RE2 pass finds the (usually few) texts that need a closer look."""
    return "|".join(
        [RE2["hint"], RE2["invisible"], RE2["untidy"], nfkc_suspect_pattern(), _casefold_pattern()]
    )
