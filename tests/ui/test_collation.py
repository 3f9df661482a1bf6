"""Label lists sort the way the UI language sorts: accents, case and numbers."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from ui.collation import sorted_for_reading


def test_labels_sort_by_the_ui_locale_with_numbers_as_numbers(qapp):
    before = QLocale()
    try:
        QLocale.setDefault(QLocale("de"))
        assert sorted_for_reading(["zebra", "Ärger", "apple", "10", "2", "Öl", "ober"]) == [
            "2",
            "10",
            "apple",
            "Ärger",
            "ober",
            "Öl",
            "zebra",
        ]
        QLocale.setDefault(QLocale("sv"))  # Swedish puts Å, Ä, Ö after Z
        assert sorted_for_reading(["zebra", "Ärger", "apple"]) == ["apple", "zebra", "Ärger"]
    finally:
        QLocale.setDefault(before)
