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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.cleaning.common import begin, plural, preview_rows, row_ids_at
from engine.cleaning.findings import Finding, Fix, Message
from engine.cleaning.text_facts import text_facts
from engine.core.i18n import N_, Nn_
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.data.datasets import Dataset
from engine.data.languages import (
    UNDETERMINED,
    detect_languages,
    detect_with_confidence,
    fold_macro_languages,
    language_share,
    macro_members,
)
from engine.data.textnorm import regex_mask

__all__ = ["LanguageProfile", "check_language_mix", "check_unexpected_language", "language_profile"]

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
SCRIPTS = (
    "Latin",
    "Cyrillic",
    "Greek",
    "Arabic",
    "Hebrew",
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Thai",
    "Devanagari",
    "Bengali",
    "Tamil",
    "Telugu",
    "Kannada",
    "Malayalam",
    "Gujarati",
    "Gurmukhi",
    "Sinhala",
    "Georgian",
    "Armenian",
    "Ethiopic",
    "Khmer",
    "Lao",
    "Myanmar",
    "Tibetan",
    "Syriac",
    "Thaana",
)


# ------------------------------------------------------------------ detection


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
        return {
            lang: n
            for lang, n in self.counts.items()
            if n >= MIX_MIN_ROWS and n / total >= MIX_MIN_SHARE
        }


def stratified_sample(
    positions: np.ndarray, strata: np.ndarray, size: int, seed: int = SAMPLE_SEED
) -> np.ndarray:
    """About ``size`` of ``positions``: every row drawn with the same probability, so
    each stratum (label) gets the same expected share, plus one row of any stratum
    the draw missed. Reproducible, and linear time without sorting a million rows."""
    if len(positions) <= size:
        return positions
    chosen = np.random.default_rng(seed).random(len(positions)) < size / len(positions)
    codes = strata[positions] + 1  # strata are label codes, -1 for "no label"
    missed = np.flatnonzero(
        (np.bincount(codes) > 0) & (np.bincount(codes[chosen], minlength=codes.max() + 1) == 0)
    )
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
            candidates = np.r_[
                candidates,
                _other_script_keys(
                    facts, detected, expected, guess, texts, cancel or CancelToken()
                ),
            ]
        if len(candidates):
            long_enough = pc.binary_length(texts(candidates)).to_numpy(zero_copy_only=False)
            candidates = candidates[long_enough >= MIN_BYTES]
        if len(candidates):
            share = language_share(
                texts(candidates).to_pylist(), macro_members(expected), cancel=cancel
            )
            unexpected = np.flatnonzero(np.isin(keys, candidates[share < MAX_SHARE]))
    row_language = np.full(len(keys), "", dtype=object)
    row_language[judged] = language_of[keys[judged]]
    row_language[unexpected] = np.where(
        language_of[keys[unexpected]] != "", language_of[keys[unexpected]], guess[keys[unexpected]]
    )
    return LanguageProfile(
        {str(k): int(v) for k, v in counts.items()},
        len(judged),
        sampled,
        expected,
        unexpected,
        row_language,
    )


def _judge(
    texts: pa.Array, key_ids: np.ndarray, n_keys: int, cancel
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
    scripts = [
        script
        for script in SCRIPTS
        if regex_mask(sample_texts, rf"\p{{{script}}}").mean() >= SCRIPT_MIN_SHARE
    ]
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
    language_of[foreign] = fold_macro_languages(
        detect_languages(texts(foreign).to_pylist(), cancel=cancel)
    )
    return foreign[~np.isin(language_of[foreign], [*expected, UNDETERMINED])]


def dataset_languages(dataset: Dataset, cancel: CancelToken | None = None) -> LanguageProfile:
    """The language profile of a text dataset, computed once per frame."""
    facts = text_facts(dataset)
    return facts.cached("languages", lambda: language_profile(facts, cancel))


# ------------------------------------------------------------------ checks


def check_language_mix(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
    """Information, not a problem: which languages the texts are in, when there is more
    than one (it decides whether a multilingual text model is needed)."""
    cancel = cancel or CancelToken()
    begin(progress, cancel, N_("Identifying languages…"))
    profile = dataset_languages(dataset, cancel)
    mix = profile.mix
    if len(mix) < 2:
        return []
    top = ", ".join(list(mix)[:6])
    explanation = (
        Message(
            N_(
                "Estimated from a random sample of {sample} rows. Most common: "
                "{languages}. A multilingual text model handles mixed data; a "
                "model trained mostly on one language may do poorly on the others."
            ),
            {"sample": profile.judged_rows, "languages": top},
        )
        if profile.sampled
        else Message(
            N_(
                "Most common: {languages}. A multilingual text model handles mixed "
                "data; a model trained mostly on one language may do poorly on the "
                "others."
            ),
            {"languages": top},
        )
    )
    return [
        Finding(
            kind="text.language_mix",
            severity="info",
            title=plural(
                *Nn_("The texts are in {n} language", "The texts are in {n} languages"), len(mix)
            ),
            explanation=explanation,
            stats=dict(profile.counts),
        )
    ]


def check_unexpected_language(
    dataset: Dataset, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[Finding]:
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
        N_(
            "Almost all texts are in {languages}, but these seem to be in another language. "
            "They may be misplaced rows, or examples a model will find hard to learn from so "
            "few. Checked: every text with letters of another script, and a random sample of "
            "{sample} rows."
        )
        if profile.sampled
        else N_(
            "Almost all texts are in {languages}, but these seem to be in another language. "
            "They may be misplaced rows, or examples a model will find hard to learn from so "
            "few."
        ),
        params,
    )
    found = pd.Series(profile.row_language[positions]).value_counts()
    return [
        Finding(
            kind="text.unexpected_language",
            severity="warning",
            title=plural(
                *Nn_(
                    "{n} text is in an unexpected language",
                    "{n} texts are in an unexpected language",
                ),
                n,
            ),
            explanation=explanation,
            row_ids=ids,
            fix=Fix(
                "drop_rows",
                {"row_ids": list(ids)},
                plural(
                    *Nn_(
                        "Remove {n} row in an unexpected language",
                        "Remove {n} rows in an unexpected language",
                    ),
                    n,
                ),
            ),
            preview=preview_rows(
                dataset.frame, positions, language=profile.row_language[positions]
            ),
            stats={
                "expected": list(profile.expected),
                "found": {str(k): int(v) for k, v in found.items()},
                "sampled": profile.sampled,
            },
        )
    ]
