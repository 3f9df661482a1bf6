"""Translation and locale formatting for every user-visible string.

Import the functions explicitly (``from engine.core.i18n import _``); nothing is put
into builtins. Strings that must exist before a language is chosen (table
headers, menu entries defined at module level) are marked with ``N_`` and
translated where they are displayed, so a live language switch reaches them.

The current language is one module-level translation object that is swapped
in a single assignment, so worker threads may translate while the UI thread
switches languages.
"""

from __future__ import annotations

import gettext
import io
import locale
import logging
import numbers
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.paths import translations_dir
from engine.core.pseudo_locale import BASE_LOCALE, PSEUDO_LANGUAGES, PseudoTranslations

if TYPE_CHECKING:
    from babel import Locale

log = logging.getLogger(__name__)

DOMAIN = "taxon"
SOURCE_LANGUAGE = "en"
#: Languages with a complete catalog, in menu order. English is the source.
SHIPPED_LANGUAGES: tuple[str, ...] = (
    "en",
    "zh_CN",
    "zh_TW",
    "ja",
    "ko",
    "es",
    "fr",
    "de",
    "pt_BR",
    "ru",
    "ar",
    "hi",
)
_RTL_LANGUAGES = {"ar", "he", "fa", "ur"}
#: Languages whose UI shows native digits; matches QLocale's default for them (ar → ar_EG).
_NATIVE_DIGITS = {"ar": ("arab", str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))}

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language: str = SOURCE_LANGUAGE
_listeners: list = []


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - gettext convention
    """Mark a singular/plural pair for extraction as one plural entry; ``ngettext`` later."""
    return singular, plural


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _translation.pgettext(context, message)


def current_language() -> str:
    return _language


def load_catalog(
    code: str, directory: Path | None = None, domain: str = DOMAIN
) -> gettext.NullTranslations:
    """Prefer the compiled ``.mo``; compile the ``.po`` in memory if it is missing.

    A checkout that has not run ``make translations`` yet still shows translations.
    """
    folder = (directory or translations_dir()) / code / "LC_MESSAGES"
    mo = folder / f"{domain}.mo"
    po = folder / f"{domain}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            catalog = read_po(handle, locale=code)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    raise FileNotFoundError(po)


def normalize_language(code: str | None) -> str:
    """Map any locale spelling (``zh-Hans-CN``, ``ar_EG.UTF-8``, ``C``) to a shipped language."""
    if not code:
        return SOURCE_LANGUAGE
    cleaned = code.split(".")[0].split("@")[0].replace("-", "_")
    if cleaned in SHIPPED_LANGUAGES or cleaned in PSEUDO_LANGUAGES:
        return cleaned
    from babel import Locale, UnknownLocaleError  # Babel loads on first use, not at start-up

    try:
        parsed = Locale.parse(cleaned)
    except (ValueError, UnknownLocaleError):
        return SOURCE_LANGUAGE
    if parsed.language == "zh":  # Traditional script in Taiwan, Hong Kong and Macao
        traditional = parsed.script == "Hant" or parsed.territory in {"TW", "HK", "MO"}
        return "zh_TW" if traditional else "zh_CN"
    for shipped in SHIPPED_LANGUAGES:
        if shipped.split("_")[0] == parsed.language:
            return shipped
    return SOURCE_LANGUAGE


def system_language() -> str:
    """The shipped language closest to the environment's locale (CLI and first run)."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return normalize_language(value.split(":")[0])
    code = locale.getlocale()[0]
    return normalize_language(code)


def set_language(code: str, directory: Path | None = None) -> str:
    """Switch every later ``_()`` call to ``code``; returns the language actually used."""
    global _translation, _language
    language = normalize_language(code)
    if language == SOURCE_LANGUAGE:
        translation: gettext.NullTranslations = gettext.NullTranslations()
    elif language in PSEUDO_LANGUAGES:
        translation = PseudoTranslations(language)
    else:
        try:
            translation = load_catalog(language, directory)
        except (OSError, ValueError) as error:
            log.error("Cannot load the %s catalog: %s", language, error)
            translation, language = gettext.NullTranslations(), SOURCE_LANGUAGE
    _translation, _language = translation, language
    for listener in list(_listeners):
        listener(language)
    return language


def add_language_listener(callback) -> None:
    """Call ``callback(code)`` after every switch (the Qt layer re-translates)."""
    _listeners.append(callback)


def remove_language_listener(callback) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


def babel_locale(code: str | None = None) -> Locale:
    from babel import Locale

    code = code or _language
    return Locale.parse(BASE_LOCALE.get(code, code))


def is_rtl(code: str | None = None) -> bool:
    return (code or _language).split("_")[0] in _RTL_LANGUAGES


def language_name(code: str) -> str:
    """The language's own name for itself: "English", "简体中文", "العربية"."""
    loc = babel_locale(code)
    if loc.language == "zh":
        script = "Hant" if loc.territory in {"TW", "HK", "MO"} else "Hans"
        name = loc.languages.get(f"zh_{script}")
        if name:
            return name
    name = loc.get_display_name(code) if loc.territory and loc.language == "pt" else None
    name = name or loc.get_language_name(code) or code  # "Português (Brasil)", not Portugal's
    return name[:1].upper() + name[1:]


def language_choices(codes: Iterable[str] = SHIPPED_LANGUAGES) -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in codes]


def display_language(code: str | None) -> str:
    """A detected language as the UI language names it ("Chinese" in English, "Chinois"
    in French): the one way results, charts and health reports name a language.

    Capitalised, since it starts a table cell or a list item; the language's own
    name when the UI language has none for it, the code itself when Babel knows
    neither; "unknown" for an undetermined text ("" or "und").
    """
    if not code or code == "und":
        return _("unknown")
    try:
        name = babel_locale().languages.get(code)
    except (ValueError, TypeError):
        name = None
    if not name:
        from babel import UnknownLocaleError

        try:
            return language_name(code)
        except (ValueError, TypeError, UnknownLocaleError):
            return code
    return name[:1].upper() + name[1:]


def _numbering() -> tuple[str, dict | None]:
    system, digits = _NATIVE_DIGITS.get(_language.split("_")[0], ("default", None))
    return system, digits


def _with_digits(text: str, digits: dict | None) -> str:
    """Babel picks the numbering system's separators but keeps ASCII digits."""
    return text.translate(digits) if digits else text


def localize_digits(text: str) -> str:
    """``text`` with its ASCII digits as the UI language writes them ("2026" → "٢٠٢٦" in
    Arabic); everything else unchanged. For numbers Taxon writes into a name (a default
    model name's time stamp), never for what the user typed."""
    return _with_digits(text, _numbering()[1])


def _percent_sign(system: str) -> str:
    """The numbering system's percent sign: Babel writes a pattern's "%" as it is, so
    Arabic numbers would end in an ASCII "%" beside Qt's "٪"."""
    if system == "default":
        return "%"
    symbols = babel_locale().number_symbols.get(system) or {}
    return symbols.get("percentSign") or "%"


def format_number(value: float, decimals: int | None = None) -> str:
    from babel import numbers as babel_numbers  # imported on first use: start-up stays fast

    system, digits = _numbering()
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    text = babel_numbers.format_decimal(
        value, format=pattern, locale=babel_locale(), numbering_system=system
    )
    return _with_digits(text, digits)


def format_percent(fraction: float, decimals: int = 0) -> str:
    from babel import numbers as babel_numbers

    system, digits = _numbering()
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    text = babel_numbers.format_percent(
        fraction, format=pattern, locale=babel_locale(), numbering_system=system
    )
    return _with_digits(text, digits).replace("%", _percent_sign(system))


def percent_affixes() -> tuple[str, str]:
    """What ``format_percent`` writes before and after the number: ``("", "%")`` in English,
    ``("", "٪")`` in Arabic (the sign, then an Arabic letter mark). A spin box showing a
    percentage takes them as its prefix and suffix, so it matches every other percentage."""
    text = format_percent(0.0)
    before, _zero, after = text.partition(localize_digits("0"))
    return before, after


def format_datetime(moment: datetime) -> str:
    from babel import dates as babel_dates

    _system, digits = _numbering()
    return _with_digits(
        babel_dates.format_datetime(moment, format="medium", locale=babel_locale()), digits
    )


def format_duration(seconds: float) -> str:
    from babel import dates as babel_dates

    _system, digits = _numbering()
    return _with_digits(
        babel_dates.format_timedelta(
            seconds, threshold=1.0, format="narrow", locale=babel_locale()
        ),
        digits,
    )


def format_bytes(size: float) -> str:
    """File and memory sizes with binary units, e.g. "4.2 GB" in the UI locale."""
    units = ("B", "KB", "MB", "GB", "TB")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{format_number(value, 0 if unit == 0 else 1)} {units[unit]}"


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


#: Parameters (and table columns) that name a number rather than count something: a port,
#: a line of a file, a format version, an image's size in pixels. They are written in the
#: UI language's digits but never grouped ("port 8080", "line 12345", "6000×4000 pixels"),
#: as the user sees or types them elsewhere.
IDENTIFIER_PARAMS = frozenset(
    {"port", "line", "source_line", "version", "supported", "width", "height"}
)


def number_shown(name: str, value: Any) -> Any:
    """How a message parameter or a table column called ``name`` shows ``value``: a count
    in the UI language's digits and grouping, an ``IDENTIFIER_PARAMS`` number in its digits
    only, anything but a real number (a bool, a string that looks like a number) as it is."""
    if not _is_count(value):
        return value
    if name in IDENTIFIER_PARAMS:
        return localize_digits(str(value))
    return format_number(value)


def _displayed(template: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each number in a plain ``{name}`` field run through ``format_number``
    (an ``IDENTIFIER_PARAMS`` one only gets the UI language's digits) and each list
    written as a list (``_listed``).

    Only real numbers change: a bool is not a count, and a string that looks like a
    number (a year in a file name, an id in a path) is shown as written. A field with
    its own format spec or conversion (``{x:.1f}``) keeps the raw value it asks for.
    """
    if not any(_is_count(value) or isinstance(value, list | tuple) for value in params.values()):
        return params  # most messages: no number to localise, nothing to parse
    own_format = {
        name
        for _text, name, spec, conversion in string.Formatter().parse(template)
        if name is not None and (spec or conversion)
    }

    def shown(key: str, value: Any) -> Any:
        if key in own_format:
            return value
        if isinstance(value, list | tuple):
            return _listed(key, value)
        return number_shown(key, value)

    return {key: shown(key, value) for key, value in params.items()}


def _listed(name: str, items: list | tuple) -> str:
    """A list parameter as the UI language writes a list ("a, b and c"); an item that is a
    ``[name, number]`` pair reads "name (number)", the number in the UI language's digits.
    Kept as data in the message, so a language switch rewrites it."""
    from babel.lists import format_list

    parts = [
        f"{item[0]} ({number_shown(name, item[1])})"
        if isinstance(item, list | tuple)
        else str(item)
        for item in items
    ]
    return format_list(parts, locale=babel_locale()) if parts else ""


@dataclass(frozen=True)
class Message:
    """A translatable sentence: an ``N_`` message id with named parameters.

    ``plural`` and ``count`` make it an ``ngettext`` message. ``params`` keep their
    raw values (``to_json`` writes plain numbers); ``text`` shows numbers in the UI
    language's digits and grouping, so the GUI, the CLI and the reports agree.
    """

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def text(self) -> str:
        template = (
            _(self.msgid)
            if self.plural is None
            else ngettext(self.msgid, self.plural, self.count or 0)
        )
        try:
            return template.format(**_displayed(template, self.params))
        except (KeyError, IndexError, ValueError):  # a broken translation must not hide the message
            source = self.msgid if self.plural is None or self.count == 1 else self.plural
            return source.format(**_displayed(source, self.params))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"msgid": self.msgid, "params": self.params}
        if self.plural is not None:
            data.update(plural=self.plural, count=self.count)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(
            data["msgid"], dict(data.get("params", {})), data.get("plural"), data.get("count")
        )
