"""The catalogs are complete, current, and consistent with the source."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.core import i18n
from tests.helpers.languages import WITHOUT_QT_TRANSLATION

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in i18n.SHIPPED_LANGUAGES if code != i18n.SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*\}|%\([a-z_]+\)[sdr]|%[sdr]")


def _catalog(code: str):
    with (ROOT / "translations" / code / "LC_MESSAGES" / "taxon.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_catalogs_are_up_to_date_with_the_source():
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "check-catalogs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, "run `make translations`:\n" + result.stdout + result.stderr


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(code):
    catalog = _catalog(code)
    missing = [
        m.id
        for m in catalog
        if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"{code}: untranslated {missing}"
    assert not fuzzy, f"{code}: fuzzy {fuzzy}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_match(code):
    for message in _catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            found = sorted(PLACEHOLDER.findall(string))
            if expected != found and not (len(ids) > 1 and set(found) <= set(expected)):
                pytest.fail(f"{code}: {ids[0]!r} has {expected}, translation has {found}")


@pytest.mark.parametrize("code", TRANSLATED)
def test_plural_rules_come_from_babel(code):
    from babel.messages.plurals import get_plural

    rule = get_plural(code)
    catalog = _catalog(code)
    assert (catalog.num_plurals, catalog.plural_expr) == (rule.num_plurals, rule.plural_expr)


@pytest.mark.parametrize("code", i18n.SHIPPED_LANGUAGES)
def test_every_language_maps_to_a_real_qlocale(code):
    from PySide6.QtCore import QLocale

    locale = QLocale(code)
    assert locale.language() != QLocale.Language.C
    assert locale.name().split("_")[0] == code.split("_")[0]


@pytest.mark.parametrize("code", TRANSLATED)
def test_qt_ships_its_own_translation_for_every_language(code):
    from ui.language import qt_translations_path

    present = (Path(qt_translations_path()) / f"qtbase_{code}.qm").exists()
    assert present != (code in WITHOUT_QT_TRANSLATION)


def test_no_translation_call_hides_inside_an_f_string():
    """The extractor cannot see ``_()`` inside f-string braces: such text never gets translated."""
    pattern = re.compile(r"""\bf(["']).*?\{[^}]*\b(_|ngettext|pgettext)\(""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("engine", "ui")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
