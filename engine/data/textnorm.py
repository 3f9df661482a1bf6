"""Text repair and comparison keys, for single strings and for million-row columns.

Data checks must stay fast on a million rows, so everything here has a scalar form
(``normalize_text``, ``match_key``) and a column form (``normalize_column``,
``normalize_series``, ``comparison_keys``) built from pyarrow's vectorised string
kernels (RE2 regexes, run on several threads for big columns). One cheap regex pass
picks the few texts that need more than lower-casing and punctuation handling
(mojibake hints, invisible characters, odd whitespace, characters NFKC or casefold
would change); only those, deduplicated, go through per-string Python (ftfy, NFKC).
The threaded Arrow passes themselves are in ``arrow_strings``, and the regexes they
run (in RE2 and Python syntax alike) in ``text_patterns``.
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

import unicodedata
from dataclasses import dataclass

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
from engine.data.text_patterns import (
    INVISIBLE_PATTERN,
    PY,
    RE2,
    attention_pattern,
    nfkc_suspect_pattern,
)

_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,  # "&amp;" may be what the user meant; not ours to decide
    uncurl_quotes=False,  # curly quotes are correct text, not damage
    explain=False,
    normalization="NFKC",
)

# ------------------------------------------------------------------ scalar forms


def _needs_ftfy(text: str) -> bool:
    return PY["hint"].search(text) is not None


def has_mojibake(text: str) -> bool:
    """True when ``text`` looks like mis-decoded UTF-8 that ftfy can repair.

    Needs the cheap hint, ftfy's own badness heuristic, and a repair that actually
    changes the text, so legitimate accented text ("¿Qué?", "naïve") never fires.
    """
    if not isinstance(text, str) or not _needs_ftfy(text):
        return False
    return is_bad(text) and ftfy.fix_encoding(text) != text


def has_invisible_chars(text: str) -> bool:
    return isinstance(text, str) and PY["invisible"].search(text) is not None


def invisible_mask(values) -> np.ndarray:
    """``has_invisible_chars`` for a whole column (Series or list) in one RE2 pass."""
    return regex_mask(to_arrow(values), INVISIBLE_PATTERN)


def _tidy_spaces(text: str) -> str:
    text = PY["hspace"].sub(" ", text)
    text = PY["newline"].sub("\n", text)
    return PY["trim"].sub("", text)


def normalize_text(text: str) -> str:
    """Repair and tidy one text: ftfy (mojibake), drop invisible/control characters
    except newline and tab, NFKC, collapse whitespace runs (keeping single line
    breaks), strip. Idempotent; ``normalize_series`` gives the same result."""
    if not isinstance(text, str) or not text:
        return ""
    if _needs_ftfy(text):
        text = ftfy.fix_text(text, _FTFY_CONFIG)
    text = PY["invisible"].sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _tidy_spaces(text)


def visible(text: str) -> str:
    """Show invisible characters as ``⟨U+200B⟩`` so a preview can point at them."""
    return PY["invisible"].sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


# ------------------------------------------------------------------ column forms


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
    changed = regex_mask(array, nfkc_suspect_pattern())
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
    attention = regex_mask(array, attention_pattern())
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
