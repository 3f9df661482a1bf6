"""The built-in image model's 1,000 ImageNet class names in the user's language.

The names live in their own gettext domain (``imagenet``), apart from the
interface catalog: they are a thousand short nouns checked on their own terms
(complete, and no two classes merged into one word within a language), and they
apply only to the built-in model. A trained model's labels are the user's own
words and are never translated: a user's class "crane" must not turn into a bird.

Everything a program reads stays stable: JSON keeps the English ``label`` and adds
``display_label``; only what a person reads changes with the language.
"""

from __future__ import annotations

import gettext
import logging
import threading

from engine.core import i18n
from engine.core.pseudo_locale import PSEUDO_LANGUAGES, PseudoTranslations

log = logging.getLogger(__name__)

DOMAIN = "imagenet"

_lock = threading.Lock()
_catalogs: dict[str, gettext.NullTranslations] = {}


def _catalog(language: str) -> gettext.NullTranslations:
    with _lock:
        catalog = _catalogs.get(language)
        if catalog is None:
            if language in PSEUDO_LANGUAGES:
                catalog = PseudoTranslations(language)
            elif language == i18n.SOURCE_LANGUAGE:
                catalog = gettext.NullTranslations()
            else:
                try:
                    catalog = i18n.load_catalog(language, domain=DOMAIN)
                except (OSError, ValueError) as error:
                    log.error("No %s class names for %s: %s", DOMAIN, language, error)
                    catalog = gettext.NullTranslations()
            _catalogs[language] = catalog
        return catalog


def display_class_name(name: str, language: str | None = None) -> str:
    """``name`` (an English ImageNet class name) as the UI language writes it.

    Falls back to the English name when a language has no entry for it.
    """
    return _catalog(language or i18n.current_language()).gettext(name)
