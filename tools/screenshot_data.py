"""The sample data behind ``tools/screenshots.py``: photos, a review table, digits with
planted problems, and two models trained here on them, all in one scratch folder that
goes when the tool ends (as does the user folder, unless ``TAXON_HOME`` is given).

Import it before anything from ``engine``: it sets ``TAXON_HOME``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_folder: list[Path] = []


def _work() -> Path:
    """The scratch folder, made on first use: the decode workers import this module too,
    with ``TAXON_HOME`` already set, and must not make (and leave) folders of their own."""
    if not _folder:
        _folder.append(Path(tempfile.mkdtemp(prefix="taxon-shots-")))
        atexit.register(shutil.rmtree, _folder[0], ignore_errors=True)
    return _folder[0]


def scratch(prefix: str) -> Path:
    """A new folder inside the tool's scratch folder."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_work()))


if "TAXON_HOME" not in os.environ:
    os.environ["TAXON_HOME"] = str(_work() / "home")

from PIL import Image  # noqa: E402


def sample_folder() -> Path:
    import sklearn

    images = Path(sklearn.__file__).parent / "datasets" / "images"
    folder = scratch("taxon-samples-") / "photos"
    folder.mkdir()
    shutil.copy(images / "china.jpg", folder / "summer palace.jpg")
    shutil.copy(images / "flower.jpg", folder / "garden 花园.jpg")
    with Image.open(images / "flower.jpg") as flower:
        flower.crop((120, 60, 520, 400)).save(folder / "close-up.jpg", quality=92)
    with Image.open(images / "china.jpg") as china:
        china.crop((0, 0, 320, 240)).save(folder / "roof detail.jpg", quality=92)
    (folder / "scan-0042.jpg").write_bytes((images / "china.jpg").read_bytes()[:9000])
    return folder


def sample_table() -> Path:
    """A small multilingual review table with a few planted problems."""
    rows = [
        ("Great phone, the battery lasts two days", "positive"),
        ("Terrible screen, returned it", "negative"),
        ("Works perfectly", "positive"),
        ("Stopped working after a week", "negative"),
        ("手机很好用，电池很耐用", "positive"),
        ("屏幕太差了，已经退货", "negative"),
        ("الهاتف رائع والبطارية تدوم طويلا", "positive"),
        ("الشاشة سيئة جدا", "negative"),
        ("Muy buen teléfono", "positive"),
        ("No funciona bien", "negative"),
        ("Works perfectly", "positive"),
        ("Great camera", "Positive"),
        ("", "negative"),
        ("cafÃ© app crashes", "negative"),
        ("Fast delivery and good price", "positive"),
        ("Broken on arrival", "negative"),
        ("Отличный телефон", "positive"),
        ("Ужасный экран", "negative"),
    ]
    path = scratch("taxon-table-") / "reviews.csv"
    path.write_text(
        "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="utf-8"
    )
    return path


def trained_digits_model() -> Path:
    """A real model package: the trainer's fast mode on scikit-learn's handwritten digits."""
    from engine.data.dataset_io import load_image_folder
    from engine.training import TrainConfig, train
    from tests.helpers.digits import write_digits

    root = scratch("taxon-digits-")
    dataset = load_image_folder(write_digits(root / "digits", per_class=30))
    return train(
        dataset, root / "digits model", TrainConfig(mode="fast", epochs=30, seed=0), name="Digits"
    ).package


TOPICS = {
    "sport": [
        "The team won the football match",
        "She scored a goal in the final",
        "The tennis player served an ace",
        "Our basketball coach trains us hard",
        "He runs a marathon every year",
        "The referee gave a red card",
        "The swimmer broke the world record",
        "Fans cheered in the stadium",
        "El equipo ganó el partido",
        "La jugadora marcó un gol",
    ],
    "food": [
        "I cooked pasta with tomato sauce",
        "This soup needs more salt",
        "We baked bread this morning",
        "The restaurant serves fresh fish",
        "She likes chocolate cake",
        "Add garlic and onions to the pan",
        "The chef grilled the vegetables",
        "Fry the eggs in butter",
        "Cocinamos arroz con verduras",
        "Me gusta la tarta de chocolate",
    ],
}
#: Typed into the text view, one per line: none of these languages but Spanish was trained on.
TEXTS = [
    "球队在决赛中赢得了比赛",
    "我们做了巧克力蛋糕",
    "فاز الفريق بالمباراة النهائية",
    "طبخنا الأرز مع الخضار والثوم",
    "Вратарь отбил пенальти в финале",
    "El pan recién horneado",
]


def trained_text_model() -> Path:
    """A real text package: fast mode (the multilingual encoder) on English and Spanish."""
    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train

    root = scratch("taxon-topics-")
    rows = "".join(f'"{text}",{label}\n' for label, texts in TOPICS.items() for text in texts)
    (root / "topics.csv").write_text("text,label\n" + rows, encoding="utf-8")
    return train(
        load_dataset(str(root / "topics.csv")),
        root / "topics model",
        TrainConfig(mode="fast", epochs=30, seed=0),
        name="Topics",
    ).package


def digits_with_problems() -> Path:
    """Handwritten digits with planted problems: relabelled scans and copies of one scan."""
    import random

    from tests.helpers.digits import write_digits

    root = write_digits(scratch("taxon-health-") / "digits", per_class=40, size=64)
    files = sorted(root.glob("*/*.png"))
    for path in random.Random(3).sample(files, 16):  # a slip of the hand: filed under another digit
        wrong = str((int(path.parent.name) + 1 + random.Random(path.name).randrange(9)) % 10)
        path.rename(root / wrong / f"moved-{path.parent.name}-{path.name}")
    original = root / "7" / "0007.png"
    shutil.copy(original, root / "7" / "0007 copy.png")
    with Image.open(original) as image:
        image.resize((96, 96)).save(root / "7" / "0007-large.png")
    return root
