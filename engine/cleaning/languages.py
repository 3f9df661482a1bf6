"""Which languages a text dataset is written in, and which rows are in none of them.

Detection uses py3langid's own naive-Bayes model, but walks its byte automaton for
thousands of texts at once with numpy (same answers as ``py3langid.classify``, ~7-25
µs a text instead of ~65), once per distinct comparison key on the key's first
tidied text.

Up to ``EXHAUSTIVE_LIMIT`` distinct texts every one is detected. Beyond that (a
million distinct texts would take 10-25 s, far more than all other checks together)
the language *mix* comes from a random sample of ``SAMPLE_ROWS`` rows, equally
likely from every label, and unexpected languages are looked for in two ways: every
sampled row, plus every row outside the sample that contains letters of a script
the expected languages do not use (e.g. Cyrillic in English-and-Chinese data),
found with one vectorised regex and then detected. What the sample mode can miss
is an unexpected language in an expected script outside the sample (a Spanish row
in unsampled English data); the finding says it was sampled.

A row counts towards the language *mix* only when detection is confident: at least
``MIN_JUDGE_BYTES`` bytes and a calibrated probability of at least ``MIN_CONFIDENCE``
for its language; other rows are "undetermined" rather than guessed (py3langid
calls "Excellent!" Latin and "No, I am immortal." Nigerian Pidgin, each with a
probability under 0.15). A language belongs to the mix when at least
``MIX_MIN_SHARE`` of the confidently judged rows, and ``MIX_MIN_ROWS`` rows, are in it.

A row is "unexpected" only when the expected languages (those covering
``COVERAGE`` of the rows, when at most ``MAX_EXPECTED`` do) together get less than
``MAX_SHARE`` of its calibrated probability and it has at least ``MIN_BYTES`` bytes:
short texts and close relatives (Spanish guessed as Galician) do not fire.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from engine.cleaning.common import begin, plural, preview_rows, row_ids_at
from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.text_facts import text_facts
from engine.datasets import Dataset
from engine.i18n import N_, Nn_
from engine.jobs import CancelToken, Progress, no_progress
from engine.textnorm import regex_mask

__all__ = ["LanguageProfile", "check_language_mix", "check_unexpected_language",
           "detect_languages", "detect_with_confidence", "language_profile", "language_share"]

#: Bytes of each text that detection reads: a few hundred settle the language.
LANGID_MAX_BYTES = 600
UNDETERMINED = "und"
EXHAUSTIVE_LIMIT = 50_000
SAMPLE_ROWS = 10_000
COVERAGE = 0.95
MAX_EXPECTED = 6
MIN_BYTES = 24
MAX_SHARE = 0.1
#: A language is part of "the mix" from this share of the confidently judged rows...
MIX_MIN_SHARE = 0.05
#: ...and at least this many of them.
MIX_MIN_ROWS = 5
#: A row's language is judged (else "und") from this calibrated probability (measured on
#: chatterbot-corpus: at 0.7, none of 1,875 short English lines is judged another
#: language, while 39% of its Spanish lines are judged Spanish and none anything else)...
MIN_CONFIDENCE = 0.7
#: ...and this many UTF-8 bytes (four CJK characters).
MIN_JUDGE_BYTES = 12
#: Scripts whose share of sampled rows makes them "used" by the expected languages.
SCRIPT_MIN_SHARE = 0.01
SAMPLE_SEED = 0
SCRIPTS = ("Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Han", "Hiragana", "Katakana",
           "Hangul", "Thai", "Devanagari", "Bengali", "Tamil", "Telugu", "Kannada", "Malayalam",
           "Gujarati", "Gurmukhi", "Sinhala", "Georgian", "Armenian", "Ethiopic", "Khmer", "Lao",
           "Myanmar", "Tibetan", "Syriac", "Thaana")


# ------------------------------------------------------------------ detection

@lru_cache(maxsize=1)
def _langid_model() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """py3langid's naive-Bayes model as numpy arrays: (DFA rows, row of each state,
    feature of each state, per-feature log-probabilities, priors, language codes).

    The shipped model is LZMA-compressed (~0.5 s to unpack); the unpacked npz is kept
    in the user cache folder so later runs load it in a few milliseconds.
    """
    import io
    import lzma
    from pathlib import Path

    import py3langid
    from py3langid import langid

    from engine.atomic import write_atomic
    from engine.paths import user_cache_dir

    source = Path(langid.__file__).parent / langid.MODEL_FILE
    version = getattr(py3langid, "__version__", "0")
    cached = user_cache_dir() / f"py3langid-{version}-{source.stat().st_size}.npz"
    try:
        data = np.load(cached, allow_pickle=False)
    except (OSError, ValueError):
        raw = lzma.decompress(source.read_bytes())
        try:
            write_atomic(cached, raw)
        except OSError:
            pass  # a read-only cache only costs time
        data = np.load(io.BytesIO(raw), allow_pickle=False)
    with data:
        return (data["nextmove"].astype(np.uint32),
                data["nextmove_row"].astype(np.int64) << 8,
                data["out_feat"].astype(np.int32),
                data["ptc"].astype(np.float32),
                data["pc"].astype(np.float32),
                data["classes"].astype(object))


def _langid_bytes(text: str) -> bytes:
    """py3langid's own input preparation: all-caps text lowered, NFC, UTF-8."""
    if not isinstance(text, str):
        return b""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass")[:LANGID_MAX_BYTES]


def _langid_scores(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Naive-Bayes scores (texts x languages) and whether each text had any feature.

    Walks the n-gram automaton for a batch of similar-length texts in lock-step:
    one numpy gather per byte position instead of one Python step per byte.
    """
    nextmove, rowbase, output, ptc, prior, _ = _langid_model()
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    width = int(lengths.max(initial=0))
    matrix = np.zeros((len(encoded), max(width, 1)), dtype=np.uint8)
    flat = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    rows = np.repeat(np.arange(len(encoded)), lengths)
    matrix[rows, np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)] = flat
    state = np.zeros(len(encoded), dtype=np.int64)
    hit_rows, hit_features = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)]
    for position in range(width):
        first = int(np.searchsorted(lengths, position, side="right"))  # still-running texts
        moved = nextmove[rowbase[state[first:]] + matrix[first:, position]].astype(np.int64)
        state[first:] = moved
        features = output[moved]
        hits = np.flatnonzero(features >= 0)
        hit_rows.append(hits + first)
        hit_features.append(features[hits])
    rows_hit = np.concatenate(hit_rows)
    counts = sparse.csr_matrix(
        (np.ones(len(rows_hit), dtype=np.float32), (rows_hit, np.concatenate(hit_features))),
        shape=(len(encoded), ptc.shape[0]))
    counts.sum_duplicates()
    counts.data = np.log1p(counts.data)
    return np.asarray(counts @ ptc) + prior, np.diff(counts.indptr) > 0


def _by_length(texts, fn, batch_size: int, cancel) -> list:
    """Run ``fn(encoded batch, lengths)`` over texts sorted by byte length (little
    padding per batch), checking ``cancel`` per batch; results in input order."""
    encoded = [_langid_bytes(text) for text in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    order = np.argsort(lengths, kind="stable")
    result = np.empty(len(encoded), dtype=object)
    for start in range(0, len(order), batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        chunk = order[start:start + batch_size]
        result[chunk] = fn([encoded[i] for i in chunk], lengths[chunk])
    return result.tolist()


def detect_languages(texts, batch_size: int = 20_000, cancel=None) -> list[str]:
    """ISO 639-1 code per text ("en", "zh", ...), or ``"und"`` when a text has no
    letters to judge by. Same model and answers as ``py3langid.classify``, computed
    for a whole batch at once. ``cancel`` (a ``CancelToken``) is checked per batch."""
    classes = _langid_model()[5]

    def batch(encoded, _lengths):
        scores, has_features = _langid_scores(encoded)
        return np.where(has_features, classes[scores.argmax(axis=1)], UNDETERMINED).tolist()

    return _by_length(texts, batch, batch_size, cancel)


def detect_with_confidence(texts, batch_size: int = 20_000, cancel=None
                           ) -> tuple[list[str], np.ndarray]:
    """Folded language code per text (as ``detect_languages``, dialects folded into
    their language) and the calibrated probability (0..1, see ``language_share``) of
    that language, dialects included. Short texts get low probabilities: a caller
    that must not guess treats those as undetermined."""
    classes = _langid_model()[5]
    folded = _fold(classes)
    names, group = np.unique(folded, return_inverse=True)

    def batch(encoded, lengths):
        scores, has_features = _langid_scores(encoded)
        scores = scores / np.sqrt(np.maximum(lengths, 1))[:, None]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        grouped = np.zeros((len(encoded), len(names)))
        np.add.at(grouped.T, group, scores.T)
        best = grouped.argmax(axis=1)
        probability = grouped[np.arange(len(encoded)), best] / grouped.sum(axis=1)
        out = np.empty(len(encoded), dtype=object)  # (code, probability) per text
        for i, (b, p, ok) in enumerate(zip(best, probability, has_features, strict=True)):
            out[i] = (str(names[b]), float(p)) if ok else (UNDETERMINED, 0.0)
        return out

    pairs = _by_length(texts, batch, batch_size, cancel)
    return [code for code, _ in pairs], np.asarray([p for _, p in pairs], dtype=float)


def language_share(texts, languages, batch_size: int = 20_000, cancel=None) -> np.ndarray:
    """Probability (0..1) that each text is in one of ``languages``, calibrated the way
    py3langid's ``norm_probs`` is (scores tempered by the square root of the length).
    A low share is stronger evidence than a top guess: a Spanish sentence guessed
    as Portuguese still gives Spanish much of the probability."""
    classes = _langid_model()[5]
    columns = np.isin(classes, list(languages))

    def batch(encoded, lengths):
        scores, has_features = _langid_scores(encoded)
        scores = scores / np.sqrt(np.maximum(lengths, 1))[:, None]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        share = scores[:, columns].sum(axis=1) / scores.sum(axis=1)
        return np.where(has_features, share, 1.0).tolist()

    return np.asarray(_by_length(texts, batch, batch_size, cancel), dtype=float)


# ------------------------------------------------------------------ profile

#: Dialects and historical forms py3langid tells apart, folded into the language a
#: user would name: Moroccan Arabic in Arabic data, or Cantonese in Chinese data, is
#: not "another language". "zxx" is py3langid's "no linguistic content".
MACRO_LANGUAGES = {"ary": "ar", "arz": "ar", "wuu": "zh", "yue": "zh", "nn": "no", "hbo": "he",
                   "grc": "el", "uzs": "uz", "zxx": UNDETERMINED}


def _fold(codes) -> np.ndarray:
    return np.asarray([MACRO_LANGUAGES.get(code, code) for code in codes], dtype=object)


def _members(languages) -> list[str]:
    """The py3langid codes that fold into ``languages``."""
    return [*languages, *(code for code, macro in MACRO_LANGUAGES.items() if macro in languages)]


@dataclass(frozen=True)
class LanguageProfile:
    counts: dict[str, int] = field(default_factory=dict)  # judged rows per language
    judged_rows: int = 0
    sampled: bool = False
    expected: tuple[str, ...] = ()  # empty when the data is too mixed to expect anything
    unexpected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_language: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def mix(self) -> dict[str, int]:
        """The languages with at least MIX_MIN_SHARE of the confidently judged rows and
        MIX_MIN_ROWS rows: a handful of odd guesses is not a mix."""
        total = sum(self.counts.values())
        return {lang: n for lang, n in self.counts.items()
                if n >= MIX_MIN_ROWS and n / total >= MIX_MIN_SHARE}


def stratified_sample(positions: np.ndarray, strata: np.ndarray, size: int,
                      seed: int = SAMPLE_SEED) -> np.ndarray:
    """About ``size`` of ``positions``: every row drawn with the same probability, so
    each stratum (label) gets the same expected share, plus one row of any stratum
    the draw missed. Reproducible, and linear time without sorting a million rows."""
    if len(positions) <= size:
        return positions
    chosen = np.random.default_rng(seed).random(len(positions)) < size / len(positions)
    codes = strata[positions] + 1  # strata are label codes, -1 for "no label"
    missed = np.flatnonzero((np.bincount(codes) > 0)
                            & (np.bincount(codes[chosen], minlength=codes.max() + 1) == 0))
    if len(missed):
        _, first = np.unique(codes, return_index=True)
        chosen[first[np.isin(np.unique(codes), missed)]] = True
    return positions[chosen]


def _expected(counts: pd.Series) -> tuple[str, ...]:
    if counts.empty:
        return ()
    covering = int(np.searchsorted(counts.cumsum().to_numpy(), COVERAGE * counts.sum()) + 1)
    return tuple(counts.index[:covering]) if covering <= MAX_EXPECTED else ()


def language_profile(facts, cancel: CancelToken | None = None) -> LanguageProfile:
    """Languages of ``facts`` (an ``engine.cleaning.text_facts.TextFacts``)."""
    keys = facts.keys
    usable = np.flatnonzero(keys >= 0)
    if len(usable) == 0:
        return LanguageProfile(row_language=np.full(len(keys), "", dtype=object))
    representative = facts.representatives  # the first row with each key
    present = np.flatnonzero(representative >= 0)

    def texts(key_ids: np.ndarray) -> pa.Array:
        return facts.normalized.text.take(pa.array(representative[key_ids]))

    sampled = len(present) > EXHAUSTIVE_LIMIT
    judged = stratified_sample(usable, facts.labels, SAMPLE_ROWS) if sampled else usable
    detected = np.unique(keys[judged])
    guess, language_of = _judge(texts(detected), detected, len(representative), cancel)
    counts = pd.Series(language_of[keys[judged]]).value_counts()
    counts = counts[counts.index != UNDETERMINED]
    expected = _expected(counts)
    unexpected = np.zeros(0, dtype=np.int64)
    if expected:
        # Only confidently judged rows: "do a recursive factorial" is not Galician.
        candidates = detected[~np.isin(language_of[detected], [*expected, UNDETERMINED])]
        if sampled:
            candidates = np.r_[candidates, _other_script_keys(
                facts, detected, expected, guess, texts, cancel or CancelToken())]
        if len(candidates):
            long_enough = pc.binary_length(texts(candidates)).to_numpy(zero_copy_only=False)
            candidates = candidates[long_enough >= MIN_BYTES]
        if len(candidates):
            share = language_share(texts(candidates).to_pylist(), _members(expected), cancel=cancel)
            unexpected = np.flatnonzero(np.isin(keys, candidates[share < MAX_SHARE]))
    row_language = np.full(len(keys), "", dtype=object)
    row_language[judged] = language_of[keys[judged]]
    row_language[unexpected] = np.where(language_of[keys[unexpected]] != "",
                                        language_of[keys[unexpected]], guess[keys[unexpected]])
    return LanguageProfile({str(k): int(v) for k, v in counts.items()}, len(judged), sampled,
                           expected, unexpected, row_language)


def _judge(texts: pa.Array, key_ids: np.ndarray, n_keys: int, cancel
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per key: py3langid's folded top guess, and the language it is *confidently* in
    (``UNDETERMINED`` when the text is short or the guess unsure); "" for keys not
    judged. The guess serves the unexpected-language search, which has its own,
    stricter test; only confident languages make up the mix."""
    guess = np.full(n_keys, "", dtype=object)
    judged = np.full(n_keys, "", dtype=object)
    codes, confidence = detect_with_confidence(texts.to_pylist(), cancel=cancel)
    size = pc.binary_length(texts).to_numpy(zero_copy_only=False)
    guess[key_ids] = np.asarray(codes, dtype=object)
    sure = (confidence >= MIN_CONFIDENCE) & (size >= MIN_JUDGE_BYTES)
    judged[key_ids] = np.where(sure, guess[key_ids], UNDETERMINED)
    return guess, judged


def _other_script_keys(facts, detected, expected, language_of, texts, cancel) -> np.ndarray:
    """Keys outside the sample with letters of a script the expected languages do not
    write in; detects their language and returns those not in ``expected``."""
    in_expected = detected[np.isin(language_of[detected], expected)]
    sample_texts = texts(in_expected)
    scripts = [script for script in SCRIPTS
               if regex_mask(sample_texts, rf"\p{{{script}}}").mean() >= SCRIPT_MIN_SHARE]
    if not scripts:
        return np.zeros(0, dtype=np.int64)
    cancel.raise_if_cancelled()
    foreign_letter = "[^\\P{L}" + "".join(rf"\p{{{script}}}" for script in scripts) + "]"
    text = facts.normalized.text
    if "Latin" in scripts:  # pure-ASCII text has no letter of another script: skip it
        scan = np.flatnonzero(~pc.string_is_ascii(text).to_numpy(zero_copy_only=False))
        rows = scan[regex_mask(text.take(pa.array(scan)), foreign_letter)]
    else:
        rows = np.flatnonzero(regex_mask(text, foreign_letter))
    foreign = np.setdiff1d(facts.keys[rows], detected)
    foreign = foreign[foreign >= 0]
    if len(foreign) == 0:
        return foreign
    language_of[foreign] = _fold(detect_languages(texts(foreign).to_pylist(), cancel=cancel))
    return foreign[~np.isin(language_of[foreign], [*expected, UNDETERMINED])]


def dataset_languages(dataset: Dataset, cancel: CancelToken | None = None) -> LanguageProfile:
    """The language profile of a text dataset, computed once per frame."""
    facts = text_facts(dataset)
    return facts.cached("languages", lambda: language_profile(facts, cancel))


# ------------------------------------------------------------------ checks


def check_language_mix(dataset: Dataset, progress: Progress = no_progress,
                       cancel: CancelToken | None = None) -> list[Finding]:
    """Information, not a problem: which languages the texts are in, when there is more
    than one (it decides whether a multilingual text model is needed)."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Identifying languages…"))
    profile = dataset_languages(dataset, cancel)
    mix = profile.mix
    if len(mix) < 2:
        return []
    top = ", ".join(list(mix)[:6])
    explanation = (Message(N_("Estimated from a random sample of {sample} rows. Most common: "
                              "{languages}. A multilingual text model handles mixed data; a "
                              "model trained mostly on one language may do poorly on the others."),
                           {"sample": profile.judged_rows, "languages": top})
                   if profile.sampled else
                   Message(N_("Most common: {languages}. A multilingual text model handles mixed "
                              "data; a model trained mostly on one language may do poorly on the "
                              "others."), {"languages": top}))
    return [Finding(
        kind="text.language_mix", severity="info",
        title=plural(*Nn_("The texts are in {n} language", "The texts are in {n} languages"),
                      len(mix)),
        explanation=explanation, stats=dict(profile.counts),
    )]


def check_unexpected_language(dataset: Dataset, progress: Progress = no_progress,
                              cancel: CancelToken | None = None) -> list[Finding]:
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Identifying languages…"))
    profile = dataset_languages(dataset, cancel)
    positions = profile.unexpected
    if len(positions) == 0:
        return []
    n = len(positions)
    ids = row_ids_at(dataset.frame, positions)
    params = {"languages": ", ".join(profile.expected), "sample": profile.judged_rows}
    explanation = Message(
        N_("Almost all texts are in {languages}, but these seem to be in another language. "
           "They may be misplaced rows, or examples a model will find hard to learn from so "
           "few. Checked: every text with letters of another script, and a random sample of "
           "{sample} rows.") if profile.sampled else
        N_("Almost all texts are in {languages}, but these seem to be in another language. "
           "They may be misplaced rows, or examples a model will find hard to learn from so "
           "few."), params)
    found = pd.Series(profile.row_language[positions]).value_counts()
    return [Finding(
        kind="text.unexpected_language", severity="warning",
        title=plural(*Nn_("{n} text is in an unexpected language", "{n} texts are in an unexpected language"), n),
        explanation=explanation, row_ids=ids,
        fix=Fix("drop_rows", {"row_ids": list(ids)},
                plural(*Nn_("Remove {n} row in an unexpected language", "Remove {n} rows in an unexpected language"), n)),
        preview=preview_rows(dataset.frame, positions, language=profile.row_language[positions]),
        stats={"expected": list(profile.expected), "found": {str(k): int(v) for k, v in found.items()},
               "sampled": profile.sampled},
    )]
