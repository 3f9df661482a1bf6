"""Text checks: each finds what was planted and stays silent on clean data."""

from __future__ import annotations

import sys
import unicodedata

import numpy as np
import pandas as pd
import pytest

from engine.cleaning import languages, text_checks
from engine.cleaning.findings import Finding
from engine.core.jobs import Cancelled, CancelToken
from engine.data import textnorm
from engine.data.datasets import Dataset, DatasetSource, make_frame

# ---------------------------------------------------------------- test data

_TOPICS = {
    # language: {class: (subjects, endings)}; every subject x ending is one sentence
    "en": {"sports": (["The football team", "Our goalkeeper", "The young striker", "The coach"],
                      ["scored twice in the final match of the season.",
                       "trained hard before the championship game.",
                       "celebrated the victory with the fans in the stadium.",
                       "was injured during the second half of the match.",
                       "won the league title after a tough season."]),
           "food": (["My grandmother", "The chef", "Our neighbour", "The baker"],
                    ["baked fresh bread with garlic and butter this morning.",
                     "cooked a spicy vegetable soup for dinner.",
                     "prepared a chocolate cake with strawberries.",
                     "roasted chicken with potatoes and rosemary.",
                     "made pasta with tomato sauce and cheese."]),
           "weather": (["The forecast", "The radio", "The meteorologist", "The morning news"],
                       ["warned about heavy rain and strong winds tomorrow.",
                        "predicted snow and freezing temperatures this weekend.",
                        "said a thunderstorm will hit the coast tonight.",
                        "promised sunshine and clear skies for the holiday.",
                        "reported thick fog and humid air across the valley."])},
    "es": {"sports": (["El equipo de fútbol", "Nuestro portero", "El joven delantero", "El entrenador"],
                      ["marcó dos goles en el partido final de la temporada.",
                       "entrenó mucho antes del partido del campeonato.",
                       "celebró la victoria con los aficionados en el estadio.",
                       "se lesionó durante la segunda parte del partido.",
                       "ganó el título de liga tras una temporada difícil."]),
           "food": (["Mi abuela", "El cocinero", "Nuestra vecina", "El panadero"],
                    ["horneó pan fresco con ajo y mantequilla esta mañana.",
                     "cocinó una sopa de verduras picante para la cena.",
                     "preparó un pastel de chocolate con fresas.",
                     "asó pollo con patatas y romero.",
                     "hizo pasta con salsa de tomate y queso."]),
           "weather": (["El pronóstico", "La radio", "El meteorólogo", "El noticiero"],
                       ["advirtió de lluvias intensas y vientos fuertes para mañana.",
                        "predijo nieve y temperaturas heladas este fin de semana.",
                        "dijo que una tormenta llegará a la costa esta noche.",
                        "prometió sol y cielos despejados para las vacaciones.",
                        "informó de niebla espesa y aire húmedo en el valle."])},
    "ru": {"sports": (["Футбольная команда", "Наш вратарь", "Молодой нападающий", "Тренер"],
                      ["забил два гола в финальном матче сезона.",
                       "усердно тренировался перед матчем чемпионата.",
                       "праздновал победу с болельщиками на стадионе.",
                       "получил травму во втором тайме матча.",
                       "выиграл чемпионский титул после трудного сезона."]),
           "food": (["Моя бабушка", "Повар", "Наша соседка", "Пекарь"],
                    ["испекла свежий хлеб с чесноком и маслом сегодня утром.",
                     "сварил острый овощной суп на ужин.",
                     "приготовила шоколадный торт с клубникой.",
                     "запёк курицу с картофелем и розмарином.",
                     "сделал пасту с томатным соусом и сыром."]),
           "weather": (["Прогноз погоды", "Радио", "Синоптик", "Утренние новости"],
                       ["предупредил о сильном дожде и ветре завтра.",
                        "обещал снег и мороз в эти выходные.",
                        "сообщил, что ночью на побережье будет гроза.",
                        "обещал солнце и ясное небо на праздники.",
                        "сообщил о густом тумане и влажном воздухе в долине."])},
    "zh": {"sports": (["这支足球队", "我们的守门员", "年轻的前锋", "主教练"],
                      ["在赛季最后一场比赛中打进了两个球。", "在锦标赛之前刻苦训练。",
                       "在体育场和球迷一起庆祝胜利。", "在比赛下半场受伤了。",
                       "在艰难的赛季后赢得了联赛冠军。"]),
           "food": (["我的奶奶", "这位厨师", "我们的邻居", "面包师"],
                    ["今天早上用大蒜和黄油烤了新鲜的面包。", "晚饭煮了一锅辣味蔬菜汤。",
                     "做了一个草莓巧克力蛋糕。", "用土豆和迷迭香烤了一只鸡。",
                     "做了番茄酱奶酪意大利面。"]),
           "weather": (["天气预报", "广播电台", "气象学家", "早间新闻"],
                       ["警告明天会有大雨和强风。", "预计这个周末会下雪并且气温很低。",
                        "说今晚沿海地区会有雷暴。", "说假期会是晴朗的好天气。",
                        "报道山谷里有浓雾，空气很潮湿。"])},
    "ar": {"sports": (["فريق كرة القدم", "حارس مرمانا", "المهاجم الشاب", "المدرب"],
                      ["سجل هدفين في المباراة النهائية من الموسم.",
                       "تدرب بجد قبل مباراة البطولة.",
                       "احتفل بالفوز مع المشجعين في الملعب.",
                       "أصيب خلال الشوط الثاني من المباراة.",
                       "فاز بلقب الدوري بعد موسم صعب."]),
           "food": (["جدتي", "الطباخ", "جارتنا", "الخباز"],
                    ["خبز خبزا طازجا بالثوم والزبدة هذا الصباح.",
                     "طبخ حساء خضار حارا للعشاء.",
                     "حضر كعكة الشوكولاتة بالفراولة.",
                     "شوى الدجاج مع البطاطس وإكليل الجبل.",
                     "صنع المعكرونة بصلصة الطماطم والجبن."]),
           "weather": (["النشرة الجوية", "الإذاعة", "خبير الأرصاد", "أخبار الصباح"],
                       ["حذرت من أمطار غزيرة ورياح قوية غدا.",
                        "توقعت تساقط الثلوج وانخفاض درجات الحرارة في عطلة نهاية الأسبوع.",
                        "قالت إن عاصفة رعدية ستضرب الساحل الليلة.",
                        "وعدت بشمس وسماء صافية خلال العطلة.",
                        "أفادت بوجود ضباب كثيف وهواء رطب في الوادي."])},
}


def clean_rows(only: str | None = None) -> tuple[list[str], list[str]]:
    """~300 distinct sentences in five languages (or ``only`` one) and three
    well-separated topics."""
    texts, labels = [], []
    for language, topics in _TOPICS.items():
        if only and language != only:
            continue
        joiner = "" if language == "zh" else " "
        for label, (subjects, endings) in topics.items():
            for subject in subjects:
                for ending in endings:
                    texts.append(subject + joiner + ending)
                    labels.append(label)
    return texts, labels


def dataset(texts, labels) -> Dataset:
    frame = make_frame(texts, labels, source_lines=range(2, len(texts) + 2))
    return Dataset("text", frame, DatasetSource("table", "test.csv", "csv"))


GERMAN = ["Morgen wird es in ganz Bayern stark regnen und sehr windig sein.",
          "Die Wettervorhersage verspricht für das Wochenende viel Sonnenschein.",
          "Am Abend ziehen schwere Gewitter über die norddeutsche Küste."]


def planted() -> tuple[Dataset, dict[str, list[int]]]:
    """The clean data plus one or more rows for every problem; returns the row ids."""
    texts, labels = clean_rows()
    where: dict[str, list[int]] = {"flipped": [10, 120, 230]}
    classes = sorted(set(labels))
    for row in where["flipped"]:
        labels[row] = classes[(classes.index(labels[row]) + 1) % len(classes)]

    def add(kind: str, text, label) -> None:
        where.setdefault(kind, []).append(len(texts))
        texts.append(text)
        labels.append(label)

    add("empty", "", "food")
    add("empty", "   \u200b ", "sports")
    add("empty", None, "weather")
    add("mojibake", "Me encanta el cafÃ© con leche y el pan tostado por la maÃ±ana.", "food")
    add("invisible", "The referee\u200b stopped the match because of the heavy rain.", "sports")
    add("unnormalized", "Ｔｈｅ ｃｈｅｆ ｍａｄｅ ａ ｖｅｒｙ ｌａｒｇｅ ｐｉｚｚａ ｆｏｒ ｕｓ ａｌｌ ｔｏｄａｙ.", "food")
    add("exact", texts[0], labels[0])
    add("exact", texts[150], labels[150])
    add("normalized", "Hello  World! The tennis match starts at noon.", "sports")
    add("normalized", "hello world the tennis match starts at noon", "sports")
    add("conflict_tie", "I watched the game while eating a bowl of noodles.", "sports")
    add("conflict_tie", "I watched the game while eating a bowl of noodles!", "food")
    add("conflict_major", "A sunny afternoon picnic with sandwiches in the park.", "food")
    add("conflict_major", "A sunny afternoon picnic with sandwiches in the park.", "food")
    add("conflict_major", "a sunny afternoon picnic with sandwiches in the park", "weather")
    add("short", "ok", "sports")
    for text in GERMAN:
        add("german", text, "weather")
    return dataset(texts, labels), where


def kinds(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


def run_all(data: Dataset) -> dict[str, Finding]:
    found: dict[str, Finding] = {}
    for kind, check in text_checks.TEXT_CHECKS.items():
        results = check(data)
        assert all(f.kind == kind for f in results)
        assert len(results) <= 1
        if results:
            found[kind] = results[0]
    return found


# ---------------------------------------------------------------- clean data


def test_clean_multilingual_data_only_reports_its_languages():
    texts, labels = clean_rows()
    assert len(texts) == len(set(texts)) >= 250
    found = run_all(dataset(texts, labels))
    assert set(found) == {"text.language_mix"}
    mix = found["text.language_mix"]
    assert mix.severity == "info"
    assert set(mix.stats) == {"en", "es", "ru", "zh", "ar"}
    assert mix.title.text() == "The texts are in 5 languages"


def test_monolingual_data_has_no_language_finding():
    assert run_all(dataset(*clean_rows("en"))) == {}


# ---------------------------------------------------------------- planted problems


@pytest.fixture(scope="module")
def found():
    data, where = planted()
    return run_all(data), where


def test_empty_texts(found):
    findings, where = found
    finding = findings["text.empty"]
    assert finding.severity == "error"
    assert finding.row_ids == tuple(where["empty"])
    assert finding.fix.kind == "drop_rows" and finding.fix.params["row_ids"] == where["empty"]
    assert finding.title.text() == "3 rows have no text"


def test_mojibake_is_found_and_previewed_repaired(found):
    findings, where = found
    finding = findings["text.mojibake"]
    assert finding.row_ids == tuple(where["mojibake"])
    assert finding.fix.kind == "normalize_text"
    assert "café" in finding.preview[0]["after"] and "cafÃ©" in finding.preview[0]["before"]


def test_invisible_characters_are_shown_in_the_preview(found):
    findings, where = found
    finding = findings["text.invisible_chars"]
    assert finding.row_ids == tuple(where["invisible"])  # the blank one is "empty", not here
    assert "⟨U+200B⟩" in finding.preview[0]["before"]
    assert "\u200b" not in finding.preview[0]["after"]


def test_unnormalized_text(found):
    findings, where = found
    finding = findings["text.unnormalized"]
    assert finding.severity == "info"
    assert finding.row_ids == tuple(where["unnormalized"])
    assert finding.preview[0]["after"].startswith("The chef made")


def test_exact_duplicates_group_with_the_original(found):
    findings, where = found
    finding = findings["text.exact_duplicates"]
    assert set(finding.groups) == {(0, where["exact"][0]), (150, where["exact"][1]),
                                   (where["conflict_major"][0], where["conflict_major"][1])}
    assert finding.fix.kind == "keep_one"
    assert finding.stats["extra_rows"] == 3


def test_normalized_duplicates_exclude_exact_ones(found):
    findings, where = found
    finding = findings["text.normalized_duplicates"]
    assert finding.groups == (tuple(where["normalized"]),)
    assert finding.title.text() == "1 row repeats another row apart from case, spacing or punctuation"


def test_conflicting_labels_drop_the_minority_or_the_whole_tie(found):
    findings, where = found
    finding = findings["text.conflicting_labels"]
    assert finding.severity == "error"
    assert set(finding.groups) == {tuple(where["conflict_tie"]), tuple(where["conflict_major"])}
    assert sorted(finding.fix.params["row_ids"]) == sorted(where["conflict_tie"]
                                                          + where["conflict_major"][2:])
    assert finding.stats["groups_without_majority"] == 1


def test_length_outliers(found):
    findings, where = found
    finding = findings["text.length_outliers"]
    assert finding.row_ids == tuple(where["short"])
    assert finding.severity == "warning" and finding.stats["short"] == 1


def test_unexpected_language(found):
    findings, where = found
    finding = findings["text.unexpected_language"]
    assert finding.row_ids == tuple(where["german"])
    assert {row["language"] for row in finding.preview} == {"de"}
    assert set(finding.stats["expected"]) == {"en", "es", "ru", "zh", "ar"}


def test_a_very_long_text_is_an_outlier_but_a_corpus_of_long_texts_is_not():
    texts, labels = clean_rows()
    long_text = " ".join(texts[:60])
    assert len(long_text) > 2000
    finding = text_checks.check_length_outliers(dataset(texts + [long_text], labels + ["food"]))[0]
    assert finding.severity == "info" and finding.stats["long"] == 1
    essays = [" ".join(texts[i:i + 40]) for i in range(60)]
    assert text_checks.check_length_outliers(dataset(essays, ["a"] * 60)) == []


def test_findings_translate_and_serialise(found):
    findings, _ = found
    for finding in findings.values():
        data = finding.to_json()
        assert Finding.from_json(data) == Finding.from_json(Finding.from_json(data).to_json())
        assert "{" not in data["title_text"] and "{" not in data["explanation_text"]


def test_language_sample_mode_still_finds_other_scripts(monkeypatch):
    """Above the exhaustive limit, the mix comes from a sample and rows in another script
    are still found outside it."""
    texts, labels = clean_rows("en")
    texts += ["Футбольная команда забила два гола в финальном матче сезона."]
    labels += ["sports"]
    monkeypatch.setattr(languages, "EXHAUSTIVE_LIMIT", 10)
    monkeypatch.setattr(languages, "SAMPLE_ROWS", 20)
    data = dataset(texts, labels)
    finding = text_checks.check_unexpected_language(data)[0]
    assert finding.row_ids == (len(texts) - 1,)
    assert finding.stats["sampled"] is True


def test_checks_honour_cancellation():
    token = CancelToken()
    token.cancel()
    texts, labels = clean_rows()
    with pytest.raises(Cancelled):
        text_checks.check_empty(dataset(texts, labels), cancel=token)


# ---------------------------------------------------------------- textnorm


@pytest.mark.parametrize("raw, expected", [
    ("cafÃ©", "café"),
    ("Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "привет"),
    ("  Hello \u200b  World!\r\n\n\n  next\tline ", "Hello World!\nnext line"),
    ("ﬁne ＡＢＣ", "fine ABC"),
    ("¿Qué tal?", "¿Qué tal?"),
    ("\ufeffBOM\u00ad", "BOM"),
    ("keep\u200djoiner", "keep\u200djoiner"),
    ("", ""),
])
def test_normalize_text(raw, expected):
    assert textnorm.normalize_text(raw) == expected
    assert textnorm.normalize_series(pd.Series([raw, None]))[0] == expected
    assert textnorm.normalize_text(expected) == expected  # idempotent


def test_normalize_series_matches_normalize_text_on_awkward_strings(monkeypatch):
    monkeypatch.setattr(textnorm, "_SLICE_ROWS", 1000)  # threads, nested calls included
    rng = np.random.default_rng(1)
    alphabet = list("aZé ß\t\n.,!ÃÂ©€™\u200b\u00a0ﬁＡ\u0301\u0323\u0307ΣςРї…\x1b\x93\x94语ب")
    values = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(1000)]
    expected = [textnorm.normalize_text(v) for v in values]
    assert textnorm.normalize_series(pd.Series(values)).tolist() == expected
    column = textnorm.normalize_column(pd.Series(values * 20))
    assert column.text.to_pylist() == expected * 20
    keys = textnorm.comparison_keys(column).to_pylist()
    assert keys[:200] == [textnorm.match_key(v) for v in values[:200]]
    assert keys == keys[:1000] * 20


def test_match_key_ignores_case_spacing_and_punctuation():
    assert textnorm.match_key("Hello,  World!") == textnorm.match_key("hello world") == "hello world"
    assert textnorm.match_key("STRASSE") == textnorm.match_key("Straße")
    assert textnorm.match_key("a - - b") == "a b"
    assert textnorm.match_key("!!!") == ""


def test_has_mojibake_spares_legitimate_accents():
    assert textnorm.has_mojibake("The Mona Lisa doesnâ€™t have eyebrows.")
    for fine in ("naïve façade", "¿Qué?", "Ärger über Öl", "привет", "ok"):
        assert not textnorm.has_mojibake(fine)


def test_special_character_classes_match_a_full_unicode_scan():
    suspects = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    folds = []
    for code in range(0x80, sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if unicodedata.combining(char) or not unicodedata.is_normalized("NFKC", char):
            suspects.add(code)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            suspects.add(int(parts[1], 16))
        if char.lower().casefold() != char.lower():
            folds.append(code)
    expected = (textnorm._char_class(textnorm._ranges(suspects), "re2"),
                textnorm._char_class(textnorm._ranges(folds), "re2"))
    assert textnorm._special_classes() == expected


def test_detect_languages_matches_py3langid():
    from py3langid import langid

    texts, _ = clean_rows()
    texts = texts[::7] + GERMAN + ["LOUD ENGLISH TEXT IN CAPITALS", "12345", ""]
    detected = languages.detect_languages(texts)
    assert detected[-1] == languages.UNDETERMINED
    assert detected[:-1] == [langid.classify(t)[0] for t in texts[:-1]]


def _reference_key(text: str) -> str:
    """match_key written the slow, obvious way, to check the vectorised one against."""
    words, run = [], []
    for char in textnorm.normalize_text(text).casefold():
        if unicodedata.category(char).startswith("P") or char.isspace():
            if run:
                words.append("".join(run))
                run = []
        else:
            run.append(char)
    if run:
        words.append("".join(run))
    return " ".join(words)


def test_comparison_keys_match_a_plain_python_reference():
    rng = np.random.default_rng(2)
    alphabet = list("aB çÉ.,;!?¿«»()-—…。，、 \t\n\u00a0ßẞΣς\u200bＡﬁ")
    values = ["".join(rng.choice(alphabet, rng.integers(0, 14))) for _ in range(2000)]
    values += [text for text in clean_rows()[0][::10]]
    keys = textnorm.match_keys(values).to_pylist()
    assert keys == [_reference_key(v) for v in values]
