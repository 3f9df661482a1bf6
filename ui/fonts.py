"""Is there a font for the UI language's script? If not, say so once, with how to get one.

Qt draws missing glyphs as empty boxes, so a Chinese or Hindi interface on a
system without such a font is unreadable, and silently so. At start-up the
window asks ``missing_font(language)``; when it is true a message bar says
so, in the language and in English (which every system can show), and the
setting ``fonts/warned-<language>`` keeps it from showing again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from engine.core import i18n
from engine.core.i18n import N_, _
from ui.retranslate import Retranslatable
from ui.settings import app_settings

_WS = QFontDatabase.WritingSystem
#: The script each shipped language needs; Latin-script languages are left out.
WRITING_SYSTEMS = {
    "zh_CN": _WS.SimplifiedChinese,
    "zh_TW": _WS.TraditionalChinese,
    "ja": _WS.Japanese,
    "ko": _WS.Korean,
    "ru": _WS.Cyrillic,
    "ar": _WS.Arabic,
    "hi": _WS.Devanagari,
}
#: The Debian/Ubuntu package with a font for the language.
PACKAGES = {
    "zh_CN": "fonts-noto-cjk",
    "zh_TW": "fonts-noto-cjk",
    "ja": "fonts-noto-cjk",
    "ko": "fonts-noto-cjk",
}
DEFAULT_PACKAGE = "fonts-noto-core"
MSG_NO_FONT = N_(
    "No font on this computer can show {language}: its text may appear as empty "
    "boxes. Install one, then restart Taxon. On Debian or Ubuntu: {command}"
)
SETTING = "fonts/warned-{code}"


def missing_font(code: str) -> bool:
    """True when no installed font covers the writing system of language ``code``."""
    system = WRITING_SYSTEMS.get(code)
    return system is not None and not QFontDatabase.families(system)


def install_command(code: str) -> str:
    return f"sudo apt install {PACKAGES.get(code, DEFAULT_PACKAGE)}"


def warning_text(code: str) -> str:
    """The warning in the UI language and, below it, in English."""
    try:
        name = i18n.language_name(code)
    except Exception:  # noqa: BLE001 - a pseudo-locale has no name of its own
        name = code
    params = {"language": name, "command": install_command(code)}
    text = _(MSG_NO_FONT).format(**params)
    english = MSG_NO_FONT.format(**params)
    return text if text == english else f"{text}\n{english}"


def should_warn(code: str) -> bool:
    """Warn about ``code`` once: the first start in it on a system without its font."""
    if not missing_font(code):
        return False
    key = SETTING.format(code=code)
    if app_settings().value(key, False, type=bool):
        return False
    app_settings().setValue(key, True)
    return True


class FontWarningBar(Retranslatable, QFrame):
    """A non-modal bar across the top of the window; Close hides it."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fontWarning")
        self.setStyleSheet(
            "#fontWarning { background: #fff4d6; border-bottom: 1px solid #e0c070; }"
        )
        self.language: str | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()
        self.retranslate_ui()

    def warn(self, code: str) -> None:
        self.language = code
        self.retranslate_ui()
        self.show()

    def retranslate_ui(self) -> None:
        self.close_button.setText(_("Close"))
        if self.language is not None:
            self.label.setText(warning_text(self.language))
