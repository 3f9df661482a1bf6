"""The pages of the main window, in navigation order. Only pages that work are listed."""

from __future__ import annotations

PAGE_FACTORIES: list = []
