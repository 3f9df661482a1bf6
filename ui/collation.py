"""Sorting what people read (label lists) the way their language sorts it.

Python's ``sorted`` orders by code point: "Zebra" before "apple", "Ärger" after
"zebra", "10" before "2". ``QCollator`` follows the UI locale (set with
``QLocale.setDefault`` on every language switch) and compares digits as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QCollator, QLocale, Qt


def sorted_for_reading(items: Iterable[str]) -> list[str]:
    collator = QCollator(QLocale())
    collator.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    collator.setNumericMode(True)
    return sorted(items, key=collator.sortKey)
