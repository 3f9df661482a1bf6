"""The engine's i18n layer: switching, names, formatting, translated errors."""

from __future__ import annotations

import pytest

from engine.core import i18n
from engine.core.i18n import N_, _
from engine.core.jobs import UserError


def test_switching_changes_translations_and_back():
    assert _("Settings") == "Settings"
    assert i18n.set_language("zh_CN") == "zh_CN"
    assert _("Settings") == "设置"
    assert i18n.set_language("ar") == "ar"
    assert _("Settings") == "الإعدادات"
    i18n.set_language("en")
    assert _("Settings") == "Settings"


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("zh-Hans-CN", "zh_CN"),
        ("zh_TW.UTF-8", "zh_TW"),
        ("zh-Hant", "zh_TW"),
        ("zh_HK", "zh_TW"),
        ("zh_SG", "zh_CN"),
        ("ar_EG.UTF-8", "ar"),
        ("C", "en"),
        ("fr_CA", "fr"),
        ("pt_PT", "pt_BR"),
        ("de_AT.UTF-8", "de"),
        ("hi_IN", "hi"),
        ("it_IT", "en"),
        ("", "en"),
        (None, "en"),
        ("en_GB", "en"),
        ("not a locale!", "en"),
    ],
)
def test_locale_spellings_map_to_shipped_languages(spelling, expected):
    assert i18n.normalize_language(spelling) == expected


def test_system_language_follows_environment(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ar_SA.UTF-8")
    assert i18n.system_language() == "ar"


def test_languages_are_named_in_their_own_language():
    assert dict(i18n.language_choices()) == {
        "en": "English",
        "zh_CN": "简体中文",
        "zh_TW": "繁體中文",
        "ja": "日本語",
        "ko": "한국어",
        "es": "Español",
        "fr": "Français",
        "de": "Deutsch",
        "pt_BR": "Português (Brasil)",
        "ru": "Русский",
        "ar": "العربية",
        "hi": "हिन्दी",
    }


def test_rtl_only_for_right_to_left_scripts():
    assert i18n.is_rtl("ar") and not i18n.is_rtl("zh_CN") and not i18n.is_rtl("en")


def test_numbers_follow_the_ui_locale():
    assert i18n.format_percent(0.925, 1) == "92.5%"
    assert i18n.format_number(1234567.25, 2) == "1,234,567.25"
    i18n.set_language("ar")
    assert i18n.format_percent(0.925, 1) == "٩٢٫٥٪\u061c"  # Arabic's own sign, as in Qt
    assert i18n.format_number(1234567.25, 2) == "١٬٢٣٤٬٥٦٧٫٢٥"
    assert i18n.format_bytes(3 * 1024**3) == "٣٫٠ GB"


def test_user_error_translates_when_shown_not_when_raised():
    error = UserError(N_("No CUDA GPU is available on this computer."))
    assert error.message == "No CUDA GPU is available on this computer."
    i18n.set_language("zh_CN")
    assert "CUDA" in error.message and error.message != error.msgid


def test_user_error_fills_placeholders_in_every_language():
    error = UserError(N_("Unknown device “{device}”."), device="tpu")
    for language in i18n.SHIPPED_LANGUAGES:
        i18n.set_language(language)
        assert "tpu" in error.message


def test_missing_compiled_catalog_falls_back_to_the_po(tmp_path):
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    folder.joinpath("taxon.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Settings"\nmsgstr "设置（测试）"\n',
        encoding="utf-8",
    )
    i18n.set_language("zh_CN", directory=tmp_path)
    assert _("Settings") == "设置（测试）"


def test_listeners_hear_every_switch():
    heard: list[str] = []
    i18n.add_language_listener(heard.append)
    try:
        i18n.set_language("ar")
        i18n.set_language("en")
    finally:
        i18n.remove_language_listener(heard.append)
    assert heard == ["ar", "en"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "ru",
            {
                0: "{n} строк",
                1: "{n} строка",
                2: "{n} строки",
                5: "{n} строк",
                11: "{n} строк",
                21: "{n} строка",
                101: "{n} строка",
            },
        ),
        (
            "ar",
            {
                0: "{n} صف",
                1: "صف واحد",
                2: "صفان",
                5: "{n} صفوف",
                11: "{n} صفًا",
                21: "{n} صفًا",
                101: "{n} صف",
            },
        ),
    ],
)
def test_plural_forms_follow_each_language_for_every_count(code, expected):
    """Russian and Arabic pick different words for 0, 1, 2, 5, 11, 21 and 101, as CLDR says."""
    i18n.set_language(code)
    for n, text in expected.items():
        assert i18n.ngettext("{n} row", "{n} rows", n) == text, n


def test_pseudo_locales_stretch_and_mark_every_message_and_keep_placeholders():
    from engine.core.pseudo_locale import pseudo

    text = pseudo("Open {name} with <b>%(count)s</b> &rows…")
    assert text.startswith("⟦Óþéñ {name} ŵíţĥ <b>%(count)s</b> &ŕóŵš…") and text.endswith("⟧")
    assert len(text) >= 1.4 * len("Open {name} with <b>%(count)s</b> &rows…")
    i18n.set_language("en_XA")
    assert i18n._("Cancel").startswith("⟦Çáñçéĺ") and i18n.format_number(1234.5, 1) == "1,234.5"
    assert i18n.ngettext("{n} row", "{n} rows", 2) == pseudo("{n} rows")
    i18n.set_language("ar_XB")
    assert i18n.is_rtl() and i18n._("Cancel").startswith("\u202e⟦")
