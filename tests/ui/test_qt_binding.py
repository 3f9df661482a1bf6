"""The Qt binding Taxon ships keeps the interpreter alive through a long session.

PySide6 6.12.0 drops one reference to ``None`` on every call of a method that
returns nothing (``setText``, ``beginInsertRows``, ...). Python 3.11's ``None`` is
not immortal, so after some hundred thousand such calls, a few hours of live
progress updates or one big folder classified, the app died with "Fatal Python
error: none_dealloc". requirements.txt pins a release without the bug; this test
fails on one that has it.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QModelIndex, QStringListModel
from PySide6.QtWidgets import QLabel


def test_calls_that_return_nothing_leave_none_alone(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    model = QStringListModel()
    before = sys.getrefcount(None)
    for number in range(2_000):
        label.setText(str(number))
        model.beginInsertRows(QModelIndex(), 0, 0)
        model.endInsertRows()
    assert abs(sys.getrefcount(None) - before) < 100
