"""Language findings are true: short English is English, a real mix is still a mix."""

from __future__ import annotations

from engine.cleaning import languages
from engine.cleaning.languages import check_language_mix, check_unexpected_language
from tests.helpers.texts import dataset

SHORT_ENGLISH = [
    "Excellent!",
    "No, I am immortal.",
    "Hello",
    "Hi there",
    "How are you?",
    "I am fine.",
    "What is your name?",
    "My name is Bot.",
    "Thank you.",
    "You're welcome.",
    "Do you like music?",
    "Yes, I love it.",
    "Tell me a joke.",
    "Why not?",
    "Good morning!",
    "Good night.",
    "What time is it?",
    "I don't know.",
    "Are you a robot?",
    "Of course.",
    "Where do you live?",
    "In the cloud.",
    "What can you do?",
    "I can talk.",
    "Really?",
    "That's great.",
    "Sounds good.",
    "See you later.",
    "Goodbye.",
    "Who made you?",
    "Is it raining?",
    "I think so.",
    "What do you eat?",
    "Electricity.",
    "How old are you?",
    "Very old.",
    "Are you happy?",
    "Always.",
    "Can you help me?",
    "Sure, with what?",
]
SPANISH = [
    "El tiempo hoy es muy soleado y cálido en toda la ciudad.",
    "Mañana vamos a cenar con nuestros amigos en el restaurante nuevo.",
    "Los niños juegan al fútbol en el parque después de la escuela.",
    "Necesito comprar pan, leche y huevos para el desayuno de mañana.",
    "La película que vimos anoche fue realmente emocionante y divertida.",
]
FRENCH = [
    "Je voudrais réserver une table pour deux personnes ce soir.",
    "Nous allons visiter le musée du Louvre pendant les vacances d'été.",
    "Il fait très froid aujourd'hui, il faut porter un manteau chaud.",
    "Mon frère travaille dans une grande entreprise à Paris depuis dix ans.",
    "Les enfants aiment beaucoup lire des histoires avant de dormir.",
]


def _english_table(times: int = 3):
    texts = [
        f"{text} {'!' * i}".strip() if i else text for i in range(times) for text in SHORT_ENGLISH
    ]
    return texts, ["chat"] * len(texts)


def test_short_english_lines_are_one_language_not_latin_or_pidgin():
    texts, labels = _english_table()
    data = dataset(texts, labels)
    assert check_language_mix(data) == []  # was "The texts are in 3 languages"
    assert check_unexpected_language(data) == []
    codes, confidence = languages.detect_with_confidence(["Excellent!", "No, I am immortal."])
    assert (confidence < languages.MIN_CONFIDENCE).all()  # too short to call: undetermined


def test_a_real_mix_is_still_reported():
    english = [
        f"This is a longer English sentence number {i} about the weather and our plans."
        for i in range(40)
    ]
    texts = english + SPANISH * 2 + FRENCH * 2  # 20 of 60 rows in Spanish or French
    texts = [f"{text} ({i})" for i, text in enumerate(texts)]
    (finding,) = check_language_mix(dataset(texts, ["a"] * len(texts)))
    assert {"en", "es", "fr"} <= set(finding.stats)
    assert finding.title.text() == "The texts are in 3 languages"


def test_a_few_stray_guesses_do_not_make_a_mix():
    english = [
        f"This is a longer English sentence number {i} about the weather and our plans."
        for i in range(200)
    ]
    texts = english + SPANISH[:2]  # 1% of the rows: a stray row, not a mix
    assert check_language_mix(dataset(texts, ["a"] * len(texts))) == []
