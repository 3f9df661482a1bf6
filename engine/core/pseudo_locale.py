"""Pseudo-locales for testing the interface before real translators see it.

``en_XA`` turns every message into accented, 40% longer text inside ⟦ ⟧:
"Open…" becomes "⟦Óþéñ…··⟧". Text that is cut off shows as a missing ⟧, and text
that never went through ``_()`` shows up plain. ``ar_XB`` does the same inside a
right-to-left override and mirrors the window, so layout that assumes left to
right shows up in English letters. Placeholders (``{name}``, ``%(x)s``), HTML tags
and ``&`` accelerators are kept as they are so every message still formats.
"""

from __future__ import annotations

import gettext
import re

PSEUDO_LANGUAGES = ("en_XA", "ar_XB")
#: What each pseudo-locale formats numbers and dates like.
BASE_LOCALE = {"en_XA": "en", "ar_XB": "en"}
OPEN, CLOSE = "⟦", "⟧"
GROWTH = 0.4
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçđéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýžÁƁÇĐÉƑĜĤÍĴĶĹṀÑÓÞǪŔŠŢÚṼŴẊÝŽ",
)
_KEEP = re.compile(r"(\{[^{}]*\}|%\([^)]*\)[sdrf]|%[sdrf]|<[^<>]+>|&[a-z]+;|\n)")


def pseudo(text: str, rtl: bool = False) -> str:
    if not text:
        return text
    parts = _KEEP.split(text)
    body = "".join(
        part if index % 2 else part.translate(_ACCENTED) for index, part in enumerate(parts)
    )
    padded = f"{OPEN}{body}{'·' * max(1, round(len(text) * GROWTH))}{CLOSE}"
    return f"\u202e{padded}\u202c" if rtl else padded


class PseudoTranslations(gettext.NullTranslations):
    def __init__(self, code: str) -> None:
        super().__init__()
        self.rtl = code == "ar_XB"

    def gettext(self, message: str) -> str:
        return pseudo(message, self.rtl)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return pseudo(singular if n == 1 else plural, self.rtl)

    def pgettext(self, context: str, message: str) -> str:
        return pseudo(message, self.rtl)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.ngettext(singular, plural, n)
