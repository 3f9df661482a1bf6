"""Live language switching for the Qt side.

Switching sets the engine's gettext language, swaps Qt's own ``qtbase`` catalog,
sets the default ``QLocale`` and the layout direction. Installing translators
makes Qt post ``QEvent.LanguageChange`` to every widget; each of our widgets
answers it in ``changeEvent`` by calling its one ``retranslate_ui()``.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTranslator
from PySide6.QtWidgets import QApplication

from engine.core import i18n
from engine.core.pseudo_locale import PSEUDO_LANGUAGES
from ui.settings import LANGUAGE_KEY, app_settings

log = logging.getLogger(__name__)

#: Scripts whose letters join or stack (Arabic, Syriac, Thaana, N'Ko, Mongolian, the
#: Indic scripts, Thai, Lao, Khmer): an underlined letter splits the word's shape.
_SHAPED = (
    r"\u0600-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u1800-\u18af"
    r"\u0900-\u0dff\u0e00-\u0eff\u1780-\u17ff"
)
_SHAPED_MNEMONIC = re.compile(f"(?<!&)&(?=[{_SHAPED}])")


def mnemonic(text: str) -> str:
    """Menu text with its ``&`` mnemonic dropped where it would underline a letter inside a
    joined or stacked script (Arabic, Hindi, Thai…): those menus are reached with F10 or
    Alt and the arrow keys. ``文件(&F)`` keeps its Latin mnemonic; ``&&`` stays a literal &."""
    return _SHAPED_MNEMONIC.sub("", text)


class GettextTranslator(QTranslator):
    """Routes Qt's ``tr()`` lookups to gettext.

    It is installed before Qt's own catalog, so Qt searches it last; its real
    job is to be non-empty so that installing it sends ``LanguageChange``.
    """

    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: D401
        if not source_text:
            return None
        if disambiguation:
            return i18n.pgettext(disambiguation, source_text)
        return i18n._(source_text)

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return False


def qt_locale(code: str) -> QLocale:
    from engine.core.pseudo_locale import BASE_LOCALE

    return QLocale(BASE_LOCALE.get(code, code))


def qt_translations_path() -> str:
    return QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)


class LanguageManager:
    """Owns the installed translators; one per application."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._translators: list[QTranslator] = []

    def initial_language(self) -> str:
        """The saved choice, else the operating system's locale."""
        saved = app_settings().value(LANGUAGE_KEY, "", type=str)
        if saved:
            return i18n.normalize_language(saved)
        return i18n.normalize_language(QLocale.system().name())

    def switch(self, code: str, persist: bool = True) -> str:
        language = i18n.set_language(code)
        for translator in self._translators:
            QCoreApplication.removeTranslator(translator)
        self._translators = []

        gettext_translator = GettextTranslator(self._app)
        QCoreApplication.installTranslator(gettext_translator)
        self._translators.append(gettext_translator)

        qt_translator = QTranslator(self._app)
        if language != i18n.SOURCE_LANGUAGE and language not in PSEUDO_LANGUAGES:
            if qt_translator.load(f"qtbase_{language}", qt_translations_path()):
                QCoreApplication.installTranslator(qt_translator)
                self._translators.append(qt_translator)
            else:
                log.warning("No Qt translation for %s", language)

        QLocale.setDefault(qt_locale(language))
        direction = (
            Qt.LayoutDirection.RightToLeft
            if i18n.is_rtl(language)
            else Qt.LayoutDirection.LeftToRight
        )
        self._app.setLayoutDirection(direction)
        if persist:
            app_settings().setValue(LANGUAGE_KEY, language)
        log.info("Language switched to %s", language)
        return language

    @property
    def qt_translator_loaded(self) -> bool:
        return len(self._translators) > 1
