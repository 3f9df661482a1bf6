"""Key terms are translated the same way throughout each catalog (translations/GLOSSARY.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.core import i18n

ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 0.8


def glossary() -> tuple[list[str], list[tuple[str, str, dict[str, list[str]]]]]:
    rows = [
        line
        for line in (ROOT / "translations" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]
    cells = [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        for row in rows
    ]
    header, body = cells[0], cells[1:]
    languages = header[2:]
    terms = [
        (
            row[0],
            row[1].strip("`"),
            {lang: row[2 + i].split("|") for i, lang in enumerate(languages)},
        )
        for row in body
    ]
    return languages, terms


def test_the_glossary_covers_every_translated_language():
    languages, terms = glossary()
    assert set(languages) == set(i18n.SHIPPED_LANGUAGES) - {i18n.SOURCE_LANGUAGE}
    assert len(terms) >= 6


@pytest.mark.parametrize("code", [c for c in i18n.SHIPPED_LANGUAGES if c != i18n.SOURCE_LANGUAGE])
def test_catalogs_use_the_glossary_terms(code):
    _languages, terms = glossary()
    with open(ROOT / "translations" / code / "LC_MESSAGES" / "taxon.po", "rb") as handle:
        catalog = read_po(handle, locale=code)
    problems = []
    for term, pattern, words in terms:
        matching = [
            m
            for m in catalog
            if m.id
            and re.search(pattern, m.id if isinstance(m.id, str) else m.id[0], re.IGNORECASE)
        ]
        texts = [
            (m.string if isinstance(m.string, str) else " ".join(m.string)).lower()
            for m in matching
        ]
        used = [any(word.lower() in text for word in words[code]) for text in texts]
        if texts and sum(used) / len(texts) < THRESHOLD:
            misses = [t for t, ok in zip(texts, used, strict=True) if not ok][:3]
            problems.append(f"{term}: {sum(used)}/{len(texts)} use {words[code]}, e.g. {misses}")
    assert not problems, f"{code}: " + "; ".join(problems)
