"""Text repair and comparison keys, for single strings and for million-row columns.

Data checks must stay fast on a million rows, so everything here has a scalar form
(``normalize_text``, ``match_key``) and a column form (``normalize_column``,
``normalize_series``, ``comparison_keys``) built from pyarrow's vectorised string
kernels (RE2 regexes, run on several threads for big columns). One cheap regex pass
picks the few texts that need more than lower-casing and punctuation handling
(mojibake hints, invisible characters, odd whitespace, characters NFKC or casefold
would change); only those, deduplicated, go through per-string Python (ftfy, NFKC).
The threaded Arrow passes themselves are in ``arrow_strings``.
Both forms give identical results by construction: the slow steps are gated by the
same tests in both, and a test checks them against each other on awkward strings.

Decisions worth knowing:

- ftfy runs only on strings that show a hint of mojibake (a UTF-8 lead byte read as
  Latin-1/Windows-1252/1251 followed by a continuation byte), C1 control
  characters or terminal escapes. That is where ``ftfy.fix_text`` changes text in
  practice, and it keeps a clean column away from ftfy's ~20 µs per string.
- Zero-width joiner and non-joiner (U+200C/U+200D) are *not* treated as invisible
  junk: Persian, Indic scripts and emoji sequences need them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import ftfy
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ftfy.badness import is_bad

from engine.data.arrow_strings import (
    concat,
    parallel,
    python_map,
    regex_mask,
    regex_steps,
    to_arrow,
    update_where,
)

# ------------------------------------------------------------------ character classes


def _char_class(ranges: list[tuple[int, int]], engine: str, negate: bool = False) -> str:
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
    cls = lambda ranges, neg=False: _char_class(ranges, engine, neg)  # noqa: E731
    space, hspace = cls(_SPACE), cls(_HSPACE)
    return {
        "invisible": cls(_INVISIBLE),
        "hint": (
            f"{cls(_LEAD)}{cls(_CONT)}|{cls(_CYR_LEAD)}{cls(_CYR_CONT)}"
            f"|{_char_class([(0x1B, 0x1B), (0x80, 0x9F)], engine)}"
        ),
        "blank": f"^(?:{space}|{cls(_INVISIBLE)})*$",
        "hspace": f"{hspace}+",
        "newline": f" ?\\n{space}*",
        "trim": f"^{space}+|{space}+$",
        # anything _tidy_spaces would change: odd whitespace, runs, or space at an end
        "untidy": f"{cls([r for r in _SPACE if r != (0x20, 0x20)])}|  |^ | $",
    }


RE2 = _patterns("re2")
_PY = {name: re.compile(pattern) for name, pattern in _patterns("re").items()}

#: RE2 pattern (for ``Series.str.contains`` on Arrow strings or ``pyarrow.compute``)
#: matching one invisible or control character.
INVISIBLE_PATTERN = RE2["invisible"]

_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,  # "&amp;" may be what the user meant; not ours to decide
    uncurl_quotes=False,  # curly quotes are correct text, not damage
    explain=False,
    normalization="NFKC",
)

# ------------------------------------------------------------------ scalar forms


def _needs_ftfy(text: str) -> bool:
    return _PY["hint"].search(text) is not None


def has_mojibake(text: str) -> bool:
    """True when ``text`` looks like mis-decoded UTF-8 that ftfy can repair.

    Needs the cheap hint, ftfy's own badness heuristic, and a repair that actually
    changes the text, so legitimate accented text ("¿Qué?", "naïve") never fires.
    """
    if not isinstance(text, str) or not _needs_ftfy(text):
        return False
    return is_bad(text) and ftfy.fix_encoding(text) != text


def has_invisible_chars(text: str) -> bool:
    return isinstance(text, str) and _PY["invisible"].search(text) is not None


def invisible_mask(values) -> np.ndarray:
    """``has_invisible_chars`` for a whole column (Series or list) in one RE2 pass."""
    return regex_mask(to_arrow(values), INVISIBLE_PATTERN)


def _tidy_spaces(text: str) -> str:
    text = _PY["hspace"].sub(" ", text)
    text = _PY["newline"].sub("\n", text)
    return _PY["trim"].sub("", text)


def normalize_text(text: str) -> str:
    """Repair and tidy one text: ftfy (mojibake), drop invisible/control characters
    except newline and tab, NFKC, collapse whitespace runs (keeping single line
    breaks), strip. Idempotent; ``normalize_series`` gives the same result."""
    if not isinstance(text, str) or not text:
        return ""
    if _needs_ftfy(text):
        text = ftfy.fix_text(text, _FTFY_CONFIG)
    text = _PY["invisible"].sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _tidy_spaces(text)


def visible(text: str) -> str:
    """Show invisible characters as ``⟨U+200B⟩`` so a preview can point at them."""
    return _PY["invisible"].sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


# ------------------------------------------------------------------ column forms


def _ranges(codes) -> list[tuple[int, int]]:
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
def _special_classes() -> tuple[str, str]:
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
    return _char_class(_ranges(suspects), "re2"), _char_class(_ranges(folds), "re2")


def _nfkc_suspect_pattern() -> str:
    return _special_classes()[0]


def _casefold_pattern() -> str:
    return _special_classes()[1]


@lru_cache(maxsize=1)
def _attention_pattern() -> str:
    """Anything normalisation or key-making could change beyond lower-casing and
    punctuation: one RE2 pass finds the (usually few) texts that need a closer look."""
    return "|".join(
        [RE2["hint"], RE2["invisible"], RE2["untidy"], _nfkc_suspect_pattern(), _casefold_pattern()]
    )


#: Full-width punctuation and the ideographic space are how Chinese and Japanese are
#: written, so NFKC turning "，" into "," is normalisation but not worth reporting.
_CJK_PUNCTUATION = {
    code: unicodedata.normalize("NFKC", chr(code))
    for code in [
        0x3000,
        *range(0xFF01, 0xFF10),
        *range(0xFF1A, 0xFF21),
        *range(0xFF3B, 0xFF41),
        *range(0xFF5B, 0xFF66),
    ]
}


def _nfkc_notable(text: str) -> bool:
    """Whether NFKC changes ``text`` in a way worth telling the user about."""
    normal = unicodedata.normalize("NFKC", text)
    return normal != text and normal != text.translate(_CJK_PUNCTUATION)


@dataclass(frozen=True)
class NormalizedColumn:
    """``normalize_text`` of every value, and which values each step had to change."""

    text: pa.Array
    mojibake_hint: np.ndarray  # ftfy ran on these (a cheap superset of real mojibake)
    invisible: np.ndarray  # had invisible or control characters
    nfkc: np.ndarray  # NFKC changed more than CJK punctuation (after ftfy, invisible removal)
    attention: np.ndarray  # a superset of all the above, plus newlines and ß-like letters


def _normalize_all(array: pa.Array) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """The full pipeline, for the texts the attention pass picked out."""
    hint = regex_mask(array, RE2["hint"])
    invisible = regex_mask(array, RE2["invisible"])
    array = update_where(array, hint, python_map(lambda s: ftfy.fix_text(s, _FTFY_CONFIG)))
    array = update_where(array, invisible | hint, regex_steps((RE2["invisible"], "")))
    changed = regex_mask(array, _nfkc_suspect_pattern())
    positions = np.flatnonzero(changed)
    nfkc = np.zeros(len(array), dtype=bool)
    if len(positions):
        values = array.take(pa.array(positions)).to_pylist()
        changed[positions] = [not unicodedata.is_normalized("NFKC", v) for v in values]
        nfkc[positions] = [_nfkc_notable(v) for v in values]
    array = update_where(array, changed, python_map(lambda s: unicodedata.normalize("NFKC", s)))
    untidy = regex_mask(array, RE2["untidy"])
    array = update_where(
        array, untidy, regex_steps((RE2["hspace"], " "), (RE2["newline"], "\n"), (RE2["trim"], ""))
    )
    return array, {"hint": hint, "invisible": invisible, "nfkc": nfkc}


def normalize_column(array) -> NormalizedColumn:
    """``normalize_text`` over an Arrow array, vectorised; nulls become "".

    One parallel RE2 pass picks the texts that need more than nothing; those are
    deduplicated and put through the full pipeline once per distinct text.
    """
    array = to_arrow(array)
    if array.null_count:  # copying a million texts costs; only when needed
        array = pc.fill_null(array, "")
    attention = regex_mask(array, _attention_pattern())
    masks = {name: np.zeros(len(array), dtype=bool) for name in ("hint", "invisible", "nfkc")}
    if attention.any():
        selected = pa.array(attention)
        subset = pc.dictionary_encode(array.filter(selected))
        fixed, found = _normalize_all(subset.dictionary)
        array = pc.replace_with_mask(array, selected, fixed.take(subset.indices))
        indices = subset.indices.to_numpy(zero_copy_only=False)
        for name, mask in found.items():
            masks[name][attention] = mask[indices]
    return NormalizedColumn(array, masks["hint"], masks["invisible"], masks["nfkc"], attention)


def normalize_array(array) -> pa.Array:
    return normalize_column(array).text


def normalize_series(series: pd.Series) -> pd.Series:
    """``normalize_text`` for a whole column: computed once per distinct value and mapped
    back, so a million rows with repeats cost what their unique values cost. Missing
    values stay missing."""
    encoded = pc.dictionary_encode(to_arrow(series))
    fixed = normalize_array(encoded.dictionary)
    out = pc.take(fixed, encoded.indices)  # null index -> null
    return pd.Series(pd.array(out, dtype="string"), index=series.index, name=series.name)


#: Punctuation with the spaces around it: "a , b" / "a. b" / "a - - b" -> "a b".
_PUNCT_RUN = r"(?: ?\p{P}+)+ ?"
#: Common punctuation (all Unicode category P) that texts start or end with. Trimming
#: it is far cheaper than a regex replacement, and most sentences have no other.
_EDGE_PUNCTUATION = " .,!?;:…。！？，、；：'\"“”‘’«»()[]{}¿¡-–—·•"


def _keys_of_lowered(part: pa.Array) -> pa.Array:
    """Punctuation runs to one space, then trimmed: the regex only for texts with
    punctuation left inside once the edges are trimmed."""
    part = pc.utf8_trim(part, characters=_EDGE_PUNCTUATION)
    inner = regex_mask(part, r"\p{P}")
    return update_where(
        part,
        inner,
        lambda values: pc.utf8_trim(
            pc.replace_substring_regex(values, pattern=_PUNCT_RUN, replacement=" "), characters=" "
        ),
    )


def comparison_keys(column: NormalizedColumn) -> pa.Array:
    """Comparison keys of a normalised column (see ``match_keys``)."""
    array = concat(parallel(lambda part: _keys_of_lowered(pc.utf8_lower(part)), column.text))
    # Only texts the attention pass picked can hold newlines or letters that
    # casefold() treats differently from lower() (ß -> ss): redo those, scatter once.
    return update_where(
        array,
        column.attention,
        lambda text: _keys_of_lowered(python_map(lambda s: s.replace("\n", " ").casefold())(text)),
        source=column.text,
    )


def match_keys(array) -> pa.Array:
    """Comparison keys: normalised, case-folded, with punctuation and whitespace runs
    collapsed to one space ("Hello,  World!" and "hello world" share a key). Texts
    that are only punctuation get the empty key, which callers treat as "no key"."""
    return comparison_keys(normalize_column(array))


def match_key(text: str) -> str:
    """The comparison key of one text (see ``match_keys``)."""
    return match_keys([text])[0].as_py()
