"""Percent signs, durations and digits Taxon writes itself, in the UI language's own script."""

from __future__ import annotations

import pytest

from engine.core import i18n

ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def test_arabic_percentages_use_the_arabic_percent_sign():
    i18n.set_language("ar")
    text = i18n.format_percent(0.925, 1)
    assert text == "٩٢٫٥٪\u061c" and "%" not in text  # CLDR's sign, the one Qt shows too
    assert i18n.percent_affixes() == ("", "٪\u061c")


@pytest.mark.parametrize("language", i18n.SHIPPED_LANGUAGES)
def test_percent_affixes_are_what_format_percent_writes(language):
    i18n.set_language(language)
    prefix, suffix = i18n.percent_affixes()
    assert i18n.format_percent(0.25) == prefix + i18n.localize_digits("25") + suffix
    assert suffix.strip()  # a sign, never an empty suffix


def test_durations_and_time_stamps_use_arabic_digits():
    i18n.set_language("ar")
    assert i18n.format_duration(125) == "٢ د"
    assert i18n.localize_digits("Run 2026-12-06 14.03") == "Run ٢٠٢٦-١٢-٠٦ ١٤.٠٣"
    i18n.set_language("en")
    assert i18n.format_duration(125) == "2m"
    assert i18n.localize_digits("2026-12-06") == "2026-12-06"


def test_no_latin_digit_in_arabic_numbers():
    i18n.set_language("ar")
    for text in (
        i18n.format_number(100_000),
        i18n.format_percent(0.5, 1),
        i18n.format_duration(3_700),
        i18n.format_bytes(5 * 1024**2),
    ):
        assert not any(ch.isascii() and ch.isdigit() for ch in text), text
        assert any(ch in ARABIC_DIGITS for ch in text), text
