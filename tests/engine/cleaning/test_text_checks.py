"""Text checks: each finds what was planted and stays silent on clean data."""

from __future__ import annotations

import sys
import unicodedata

import numpy as np
import pandas as pd
import pytest

from engine.cleaning import languages, text_checks
from engine.cleaning.findings import Finding
from engine.core.jobs import Cancelled, CancelToken
from engine.data import arrow_strings, text_patterns, textnorm
from engine.data.datasets import Dataset
from tests.helpers.texts import GERMAN, clean_rows, dataset, planted

# ---------------------------------------------------------------- helpers


def kinds(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


def run_all(data: Dataset) -> dict[str, Finding]:
    found: dict[str, Finding] = {}
    for kind, check in text_checks.TEXT_CHECKS.items():
        results = check(data)
        assert all(f.kind == kind for f in results)
        assert len(results) <= 1
        if results:
            found[kind] = results[0]
    return found


# ---------------------------------------------------------------- clean data


def test_clean_multilingual_data_only_reports_its_languages():
    texts, labels = clean_rows()
    assert len(texts) == len(set(texts)) >= 250
    found = run_all(dataset(texts, labels))
    assert set(found) == {"text.language_mix"}
    mix = found["text.language_mix"]
    assert mix.severity == "info"
    assert set(mix.stats) == {"en", "es", "ru", "zh", "ar"}
    assert mix.title.text() == "The texts are in 5 languages"


def test_monolingual_data_has_no_language_finding():
    assert run_all(dataset(*clean_rows("en"))) == {}


# ---------------------------------------------------------------- planted problems


@pytest.fixture(scope="module")
def found():
    data, where = planted()
    return run_all(data), where


def test_empty_texts(found):
    findings, where = found
    finding = findings["text.empty"]
    assert finding.severity == "error"
    assert finding.row_ids == tuple(where["empty"])
    assert finding.fix.kind == "drop_rows" and finding.fix.params["row_ids"] == where["empty"]
    assert finding.title.text() == "3 rows have no text"


def test_mojibake_is_found_and_previewed_repaired(found):
    findings, where = found
    finding = findings["text.mojibake"]
    assert finding.row_ids == tuple(where["mojibake"])
    assert finding.fix.kind == "normalize_text"
    assert "café" in finding.preview[0]["after"] and "cafÃ©" in finding.preview[0]["before"]


def test_invisible_characters_are_shown_in_the_preview(found):
    findings, where = found
    finding = findings["text.invisible_chars"]
    assert finding.row_ids == tuple(where["invisible"])  # the blank one is "empty", not here
    assert "⟨U+200B⟩" in finding.preview[0]["before"]
    assert "\u200b" not in finding.preview[0]["after"]


def test_unnormalized_text(found):
    findings, where = found
    finding = findings["text.unnormalized"]
    assert finding.severity == "info"
    assert finding.row_ids == tuple(where["unnormalized"])
    assert finding.preview[0]["after"].startswith("The chef made")


def test_exact_duplicates_group_with_the_original(found):
    findings, where = found
    finding = findings["text.exact_duplicates"]
    assert set(finding.groups) == {
        (0, where["exact"][0]),
        (150, where["exact"][1]),
        (where["conflict_major"][0], where["conflict_major"][1]),
    }
    assert finding.fix.kind == "keep_one"
    assert finding.stats["extra_rows"] == 3


def test_normalized_duplicates_exclude_exact_ones(found):
    findings, where = found
    finding = findings["text.normalized_duplicates"]
    assert finding.groups == (tuple(where["normalized"]),)
    assert (
        finding.title.text() == "1 row repeats another row apart from case, spacing or punctuation"
    )


def test_conflicting_labels_drop_the_minority_or_the_whole_tie(found):
    findings, where = found
    finding = findings["text.conflicting_labels"]
    assert finding.severity == "error"
    assert set(finding.groups) == {tuple(where["conflict_tie"]), tuple(where["conflict_major"])}
    assert sorted(finding.fix.params["row_ids"]) == sorted(
        where["conflict_tie"] + where["conflict_major"][2:]
    )
    assert finding.stats["groups_without_majority"] == 1


def test_a_conflict_group_lists_the_rows_it_keeps_first_even_when_the_odd_one_is_older():
    texts = ["The parcel never arrived", "the parcel never arrived!", "The parcel NEVER arrived"]
    texts += [f"An ordinary sentence number {i} about nothing" for i in range(6)]
    labels = ["praise", "complaint", "complaint"] + ["other"] * 6
    finding = text_checks.check_conflicting_labels(dataset(texts, labels))[0]
    assert finding.groups == ((1, 2, 0),)
    assert finding.fix.params["row_ids"] == [0]
    assert finding.stats["groups_without_majority"] == 0


def test_length_outliers(found):
    findings, where = found
    finding = findings["text.length_outliers"]
    assert finding.row_ids == tuple(where["short"])
    assert finding.severity == "warning" and finding.stats["short"] == 1


def test_unexpected_language(found):
    findings, where = found
    finding = findings["text.unexpected_language"]
    assert finding.row_ids == tuple(where["german"])
    assert {row["language"] for row in finding.preview} == {"de"}
    assert set(finding.stats["expected"]) == {"en", "es", "ru", "zh", "ar"}


def test_a_very_long_text_is_an_outlier_but_a_corpus_of_long_texts_is_not():
    texts, labels = clean_rows()
    long_text = " ".join(texts[:60])
    assert len(long_text) > 2000
    finding = text_checks.check_length_outliers(dataset(texts + [long_text], labels + ["food"]))[0]
    assert finding.severity == "info" and finding.stats["long"] == 1
    essays = [" ".join(texts[i : i + 40]) for i in range(60)]
    assert text_checks.check_length_outliers(dataset(essays, ["a"] * 60)) == []


def test_findings_translate_and_serialise(found):
    findings, _ = found
    for finding in findings.values():
        data = finding.to_json()
        assert Finding.from_json(data) == Finding.from_json(Finding.from_json(data).to_json())
        assert "{" not in data["title_text"] and "{" not in data["explanation_text"]


def test_language_sample_mode_still_finds_other_scripts(monkeypatch):
    """Above the exhaustive limit, the mix comes from a sample and rows in another script
    are still found outside it."""
    texts, labels = clean_rows("en")
    texts += ["Футбольная команда забила два гола в финальном матче сезона."]
    labels += ["sports"]
    monkeypatch.setattr(languages, "EXHAUSTIVE_LIMIT", 10)
    monkeypatch.setattr(languages, "SAMPLE_ROWS", 20)
    data = dataset(texts, labels)
    finding = text_checks.check_unexpected_language(data)[0]
    assert finding.row_ids == (len(texts) - 1,)
    assert finding.stats["sampled"] is True


def test_checks_honour_cancellation():
    token = CancelToken()
    token.cancel()
    texts, labels = clean_rows()
    with pytest.raises(Cancelled):
        text_checks.check_empty(dataset(texts, labels), cancel=token)


# ---------------------------------------------------------------- textnorm


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("cafÃ©", "café"),
        ("Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "привет"),
        ("  Hello \u200b  World!\r\n\n\n  next\tline ", "Hello World!\nnext line"),
        ("ﬁne ＡＢＣ", "fine ABC"),
        ("¿Qué tal?", "¿Qué tal?"),
        ("\ufeffBOM\u00ad", "BOM"),
        ("keep\u200djoiner", "keep\u200djoiner"),
        ("", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert textnorm.normalize_text(raw) == expected
    assert textnorm.normalize_series(pd.Series([raw, None]))[0] == expected
    assert textnorm.normalize_text(expected) == expected  # idempotent


def test_normalize_series_matches_normalize_text_on_awkward_strings(monkeypatch):
    monkeypatch.setattr(arrow_strings, "_SLICE_ROWS", 1000)  # threads, nested calls included
    rng = np.random.default_rng(1)
    alphabet = list("aZé ß\t\n.,!ÃÂ©€™\u200b\u00a0ﬁＡ\u0301\u0323\u0307ΣςРї…\x1b\x93\x94语ب")
    values = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(1000)]
    expected = [textnorm.normalize_text(v) for v in values]
    assert textnorm.normalize_series(pd.Series(values)).tolist() == expected
    column = textnorm.normalize_column(pd.Series(values * 20))
    assert column.text.to_pylist() == expected * 20
    keys = textnorm.comparison_keys(column).to_pylist()
    assert keys[:200] == [textnorm.match_key(v) for v in values[:200]]
    assert keys == keys[:1000] * 20


def test_match_key_ignores_case_spacing_and_punctuation():
    assert (
        textnorm.match_key("Hello,  World!") == textnorm.match_key("hello world") == "hello world"
    )
    assert textnorm.match_key("STRASSE") == textnorm.match_key("Straße")
    assert textnorm.match_key("a - - b") == "a b"
    assert textnorm.match_key("!!!") == ""


def test_has_mojibake_spares_legitimate_accents():
    assert textnorm.has_mojibake("The Mona Lisa doesnâ€™t have eyebrows.")
    for fine in ("naïve façade", "¿Qué?", "Ärger über Öl", "привет", "ok"):
        assert not textnorm.has_mojibake(fine)


def test_special_character_classes_match_a_full_unicode_scan():
    suspects = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    folds = []
    for code in range(0x80, sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if unicodedata.combining(char) or not unicodedata.is_normalized("NFKC", char):
            suspects.add(code)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            suspects.add(int(parts[1], 16))
        if char.lower().casefold() != char.lower():
            folds.append(code)
    expected = (
        text_patterns.char_class(text_patterns.code_ranges(suspects), "re2"),
        text_patterns.char_class(text_patterns.code_ranges(folds), "re2"),
    )
    assert text_patterns.special_classes() == expected


def test_detect_languages_matches_py3langid():
    from py3langid import langid

    texts, _ = clean_rows()
    texts = texts[::7] + GERMAN + ["LOUD ENGLISH TEXT IN CAPITALS", "12345", ""]
    detected = languages.detect_languages(texts)
    assert detected[-1] == languages.UNDETERMINED
    assert detected[:-1] == [langid.classify(t)[0] for t in texts[:-1]]


def _reference_key(text: str) -> str:
    """match_key written the slow, obvious way, to check the vectorised one against."""
    words, run = [], []
    for char in textnorm.normalize_text(text).casefold():
        if unicodedata.category(char).startswith("P") or char.isspace():
            if run:
                words.append("".join(run))
                run = []
        else:
            run.append(char)
    if run:
        words.append("".join(run))
    return " ".join(words)


def test_comparison_keys_match_a_plain_python_reference():
    rng = np.random.default_rng(2)
    alphabet = list("aB çÉ.,;!?¿«»()-—…。，、 \t\n\u00a0ßẞΣς\u200bＡﬁ")
    values = ["".join(rng.choice(alphabet, rng.integers(0, 14))) for _ in range(2000)]
    values += [text for text in clean_rows()[0][::10]]
    keys = textnorm.match_keys(values).to_pylist()
    assert keys == [_reference_key(v) for v in values]
