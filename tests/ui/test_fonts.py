"""A language whose script no installed font covers is named once, with how to get a font."""

from __future__ import annotations

from ui import fonts
from ui.app import build_window


def test_a_missing_font_is_said_once_per_language(window, qtbot, monkeypatch):
    monkeypatch.setattr(fonts, "missing_font", lambda code: code == "en_XA")
    window.languages.switch("en_XA", persist=False)
    window.check_fonts()
    assert window.font_warning.isVisible()
    first, *_middle, last = window.font_warning.label.text().splitlines()
    assert first.startswith("⟦") and "sudo apt install" in first  # in the language...
    assert (
        last.startswith("No font on this computer") and "sudo apt install" in last
    )  # ...and English
    window.font_warning.close_button.click()
    assert not window.font_warning.isVisible()
    assert "fonts-noto-cjk" in fonts.install_command("zh_CN")
    again = build_window("en_XA")
    qtbot.addWidget(again)
    again.check_fonts()
    assert not again.font_warning.isVisible()
    window.languages.switch("en", persist=False)


def test_no_warning_when_a_font_exists(window, monkeypatch):
    monkeypatch.setattr(fonts, "missing_font", lambda code: False)
    window.check_fonts()
    assert not window.font_warning.isVisible()
