"""The built-in model's class names in every UI language: complete, distinct, shown right."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.core import i18n
from engine.models.backbones.efficientnet_lite0 import class_names
from engine.models.class_names import DOMAIN, display_class_name

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in i18n.SHIPPED_LANGUAGES if code != i18n.SOURCE_LANGUAGE]


def _catalog(code: str):
    with (ROOT / "translations" / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_the_template_lists_every_class_once_in_order():
    with (ROOT / "translations" / f"{DOMAIN}.pot").open("rb") as handle:
        template = read_po(handle)
    assert [message.id for message in template if message.id] == class_names()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_class_name_is_translated(code):
    catalog = _catalog(code)
    strings = {message.id: message.string for message in catalog if message.id}
    assert set(strings) == set(class_names())
    missing = [name for name, text in strings.items() if not text.strip()]
    assert not missing, f"{code}: untranslated {missing[:10]}"
    assert not [m.id for m in catalog if m.id and m.fuzzy]


@pytest.mark.parametrize("code", TRANSLATED)
def test_no_two_classes_share_a_name(code):
    """A user told "鹤" could not tell the bird from the machine: distinct classes, distinct
    words."""
    translations = [message.string.strip().casefold() for message in _catalog(code) if message.id]
    shared = [text for text, count in Counter(translations).items() if count > 1]
    assert not shared, f"{code}: one name for several classes: {shared}"


def test_names_follow_the_language_and_stay_english_in_english():
    assert display_class_name("tabby", "en") == "tabby"
    assert display_class_name("tabby", "zh_CN") not in ("", "tabby")
    assert display_class_name("crane (bird)", "de") != display_class_name("crane (machine)", "de")
    i18n.set_language("ja")
    assert display_class_name("espresso") == display_class_name("espresso", "ja") != "espresso"


def test_pseudo_locales_mark_class_names_too():
    assert display_class_name("tabby", "en_XA").startswith("⟦")


def test_an_unknown_name_falls_back_to_itself():
    assert display_class_name("my own label", "fr") == "my own label"


def _photo() -> Path:
    import sklearn

    return Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"


@pytest.mark.slow
def test_classify_speaks_the_language_and_json_keeps_the_english_name(capsys):
    import json

    from ui.cli import main

    assert main(["classify", str(_photo()), "--lang", "zh_CN", "--top-k", "2"]) == 0
    line = capsys.readouterr().out.strip().split("\t")
    assert line[1] == display_class_name("palace", "zh_CN") != "palace"
    assert main(["classify", str(_photo()), "--lang", "ar", "--json", "--top-k", "2"]) == 0
    (row,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    best = row["predictions"][0]
    assert best["label"] == "palace" and best["display_label"] == display_class_name("palace", "ar")


def test_a_trained_models_labels_are_never_translated():
    from engine.models.contract import Classifier

    class UsersModel(Classifier):
        name, labels = "birds", ["crane (bird)", "tabby"]

        def predict_batch(self, pixels):
            return pixels

    i18n.set_language("fr")
    assert UsersModel().display_label("crane (bird)") == "crane (bird)"
