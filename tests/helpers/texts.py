"""Text data shared by the text tests: topic sentences, a multilingual clean set, planted
problems, and a noisy three-topic table big enough for a real validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.datasets import Dataset, DatasetSource, make_frame

#: Two topics of short English sentences, for training and classifying text models.
SPORT = [
    "The team won the football match",
    "She scored a goal in the final",
    "The tennis player served an ace",
    "Our basketball coach trains us hard",
    "He runs a marathon every year",
    "The referee gave a red card",
    "They play cricket on Sundays",
    "The swimmer broke the world record",
    "Fans cheered in the stadium",
    "The cyclist climbed the mountain stage",
    "The goalkeeper saved a penalty",
    "Our club lost the league game",
]
FOOD = [
    "I cooked pasta with tomato sauce",
    "This soup needs more salt",
    "We baked bread this morning",
    "The restaurant serves fresh fish",
    "She likes chocolate cake",
    "Add garlic and onions to the pan",
    "The salad has cucumber and cheese",
    "He drinks coffee with milk",
    "Rice and beans for dinner",
    "The chef grilled the vegetables",
    "Fry the eggs in butter",
    "The oven roasted chicken smells great",
]

# ---------------------------------------------------------------- text checks

_TOPICS = {
    # language: {class: (subjects, endings)}; every subject x ending is one sentence
    "en": {
        "sports": (
            ["The football team", "Our goalkeeper", "The young striker", "The coach"],
            [
                "scored twice in the final match of the season.",
                "trained hard before the championship game.",
                "celebrated the victory with the fans in the stadium.",
                "was injured during the second half of the match.",
                "won the league title after a tough season.",
            ],
        ),
        "food": (
            ["My grandmother", "The chef", "Our neighbour", "The baker"],
            [
                "baked fresh bread with garlic and butter this morning.",
                "cooked a spicy vegetable soup for dinner.",
                "prepared a chocolate cake with strawberries.",
                "roasted chicken with potatoes and rosemary.",
                "made pasta with tomato sauce and cheese.",
            ],
        ),
        "weather": (
            ["The forecast", "The radio", "The meteorologist", "The morning news"],
            [
                "warned about heavy rain and strong winds tomorrow.",
                "predicted snow and freezing temperatures this weekend.",
                "said a thunderstorm will hit the coast tonight.",
                "promised sunshine and clear skies for the holiday.",
                "reported thick fog and humid air across the valley.",
            ],
        ),
    },
    "es": {
        "sports": (
            ["El equipo de fútbol", "Nuestro portero", "El joven delantero", "El entrenador"],
            [
                "marcó dos goles en el partido final de la temporada.",
                "entrenó mucho antes del partido del campeonato.",
                "celebró la victoria con los aficionados en el estadio.",
                "se lesionó durante la segunda parte del partido.",
                "ganó el título de liga tras una temporada difícil.",
            ],
        ),
        "food": (
            ["Mi abuela", "El cocinero", "Nuestra vecina", "El panadero"],
            [
                "horneó pan fresco con ajo y mantequilla esta mañana.",
                "cocinó una sopa de verduras picante para la cena.",
                "preparó un pastel de chocolate con fresas.",
                "asó pollo con patatas y romero.",
                "hizo pasta con salsa de tomate y queso.",
            ],
        ),
        "weather": (
            ["El pronóstico", "La radio", "El meteorólogo", "El noticiero"],
            [
                "advirtió de lluvias intensas y vientos fuertes para mañana.",
                "predijo nieve y temperaturas heladas este fin de semana.",
                "dijo que una tormenta llegará a la costa esta noche.",
                "prometió sol y cielos despejados para las vacaciones.",
                "informó de niebla espesa y aire húmedo en el valle.",
            ],
        ),
    },
    "ru": {
        "sports": (
            ["Футбольная команда", "Наш вратарь", "Молодой нападающий", "Тренер"],
            [
                "забил два гола в финальном матче сезона.",
                "усердно тренировался перед матчем чемпионата.",
                "праздновал победу с болельщиками на стадионе.",
                "получил травму во втором тайме матча.",
                "выиграл чемпионский титул после трудного сезона.",
            ],
        ),
        "food": (
            ["Моя бабушка", "Повар", "Наша соседка", "Пекарь"],
            [
                "испекла свежий хлеб с чесноком и маслом сегодня утром.",
                "сварил острый овощной суп на ужин.",
                "приготовила шоколадный торт с клубникой.",
                "запёк курицу с картофелем и розмарином.",
                "сделал пасту с томатным соусом и сыром.",
            ],
        ),
        "weather": (
            ["Прогноз погоды", "Радио", "Синоптик", "Утренние новости"],
            [
                "предупредил о сильном дожде и ветре завтра.",
                "обещал снег и мороз в эти выходные.",
                "сообщил, что ночью на побережье будет гроза.",
                "обещал солнце и ясное небо на праздники.",
                "сообщил о густом тумане и влажном воздухе в долине.",
            ],
        ),
    },
    "zh": {
        "sports": (
            ["这支足球队", "我们的守门员", "年轻的前锋", "主教练"],
            [
                "在赛季最后一场比赛中打进了两个球。",
                "在锦标赛之前刻苦训练。",
                "在体育场和球迷一起庆祝胜利。",
                "在比赛下半场受伤了。",
                "在艰难的赛季后赢得了联赛冠军。",
            ],
        ),
        "food": (
            ["我的奶奶", "这位厨师", "我们的邻居", "面包师"],
            [
                "今天早上用大蒜和黄油烤了新鲜的面包。",
                "晚饭煮了一锅辣味蔬菜汤。",
                "做了一个草莓巧克力蛋糕。",
                "用土豆和迷迭香烤了一只鸡。",
                "做了番茄酱奶酪意大利面。",
            ],
        ),
        "weather": (
            ["天气预报", "广播电台", "气象学家", "早间新闻"],
            [
                "警告明天会有大雨和强风。",
                "预计这个周末会下雪并且气温很低。",
                "说今晚沿海地区会有雷暴。",
                "说假期会是晴朗的好天气。",
                "报道山谷里有浓雾，空气很潮湿。",
            ],
        ),
    },
    "ar": {
        "sports": (
            ["فريق كرة القدم", "حارس مرمانا", "المهاجم الشاب", "المدرب"],
            [
                "سجل هدفين في المباراة النهائية من الموسم.",
                "تدرب بجد قبل مباراة البطولة.",
                "احتفل بالفوز مع المشجعين في الملعب.",
                "أصيب خلال الشوط الثاني من المباراة.",
                "فاز بلقب الدوري بعد موسم صعب.",
            ],
        ),
        "food": (
            ["جدتي", "الطباخ", "جارتنا", "الخباز"],
            [
                "خبز خبزا طازجا بالثوم والزبدة هذا الصباح.",
                "طبخ حساء خضار حارا للعشاء.",
                "حضر كعكة الشوكولاتة بالفراولة.",
                "شوى الدجاج مع البطاطس وإكليل الجبل.",
                "صنع المعكرونة بصلصة الطماطم والجبن.",
            ],
        ),
        "weather": (
            ["النشرة الجوية", "الإذاعة", "خبير الأرصاد", "أخبار الصباح"],
            [
                "حذرت من أمطار غزيرة ورياح قوية غدا.",
                "توقعت تساقط الثلوج وانخفاض درجات الحرارة في عطلة نهاية الأسبوع.",
                "قالت إن عاصفة رعدية ستضرب الساحل الليلة.",
                "وعدت بشمس وسماء صافية خلال العطلة.",
                "أفادت بوجود ضباب كثيف وهواء رطب في الوادي.",
            ],
        ),
    },
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
    """A text dataset as if read from ``test.csv`` (row numbers count its header line)."""
    frame = make_frame(texts, labels, source_lines=range(2, len(texts) + 2))
    return Dataset("text", frame, DatasetSource("table", "test.csv", "csv"))


GERMAN = [
    "Morgen wird es in ganz Bayern stark regnen und sehr windig sein.",
    "Die Wettervorhersage verspricht für das Wochenende viel Sonnenschein.",
    "Am Abend ziehen schwere Gewitter über die norddeutsche Küste.",
]


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
    add(
        "unnormalized",
        "Ｔｈｅ ｃｈｅｆ ｍａｄｅ ａ ｖｅｒｙ ｌａｒｇｅ ｐｉｚｚａ ｆｏｒ ｕｓ ａｌｌ ｔｏｄａｙ.",
        "food",
    )
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


# ---------------------------------------------------------------- combined models

_WORDS = {
    "sport": ["goal", "match", "team", "score", "coach", "stadium", "referee", "league"],
    "food": ["pasta", "soup", "bread", "garlic", "cake", "coffee", "chef", "salt"],
    "travel": ["train", "hotel", "flight", "beach", "ticket", "passport", "map", "island"],
}


def noisy_topics(folder: Path, rows_per_class: int = 40):
    """Three topics of short noisy sentences: enough rows for a real validation set."""
    from engine.data.dataset_io import load_dataset

    rng = np.random.default_rng(0)
    everything = sum(_WORDS.values(), [])
    rows = []
    for label, words in _WORDS.items():
        for _ in range(rows_per_class):
            picked = list(rng.choice(words, 2)) + list(rng.choice(everything, 2))
            rng.shuffle(picked)
            rows.append((" ".join(picked), label))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "topics.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return load_dataset(str(path))
