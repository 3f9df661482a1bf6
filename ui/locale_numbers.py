"""Numbers in Qt widgets, written the way the UI language writes them.

A spin box takes its digits from its ``QLocale`` (the main window gives every spin box the
new default locale on a language switch), but its prefix and suffix are plain text: a
hard-coded ``" %"`` stays an ASCII "%" in Arabic, beside Arabic-Indic digits and the "٪"
that every other percentage on screen uses (``engine.core.i18n.format_percent``).

Use ``show_as_percent(spin)`` once, where the spin box is built, instead of
``spin.setSuffix(" %")``: it keeps the sign and the digits right after every switch.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLocale, QObject
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from engine.core import i18n


def _apply(spin: QSpinBox | QDoubleSpinBox) -> None:
    prefix, suffix = i18n.percent_affixes()
    spin.setLocale(QLocale())  # the digits: QLocale's default is the UI language's
    spin.setPrefix(prefix)
    spin.setSuffix(suffix)


class _FollowLanguage(QObject):
    """Watches one spin box for ``LanguageChange`` (sent to every widget on a switch, after
    the new language and default ``QLocale`` are set) and writes its percent sign again."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange and isinstance(
            watched, (QSpinBox, QDoubleSpinBox)
        ):
            _apply(watched)
        return False


def show_as_percent(spin: QSpinBox | QDoubleSpinBox) -> None:
    """Show ``spin``'s value (0–100) as a percentage in the UI language ("25%", "٢٥٪"), now
    and after every language switch: its digits, prefix and suffix follow the language."""
    _apply(spin)
    spin.installEventFilter(_FollowLanguage(spin))  # owned by the spin box, dies with it
