"""Facts about the shipped languages that two test modules must agree on."""

from __future__ import annotations

#: Qt has no translation of its own for these; its few built-in texts stay English there.
WITHOUT_QT_TRANSLATION = {"hi"}
