"""Benchmark: text data checks on a million rows, against bare pandas.

Run ``python bench/cleaning_text.py`` (``--rows N`` for a smaller run, ``--repeat``
for the number of timed runs of each side, interleaved; default 5). It writes a
multilingual CSV (text, label) with planted problems into a temporary folder, then
times, each run in a fresh subprocess so peak memory (``ru_maxrss``) belongs to that
run alone:

- baseline: ``pd.read_csv`` (C engine) + ``drop_duplicates`` + ``isna``
- taxon:    ``pd.read_csv`` + every text and label check of ``inspect_dataset``
            except likely label errors (that one trains a model; timed separately
            on real sizes by the training benchmarks)

Target: taxon <= 3x the baseline's time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOPICS = ("sports", "food", "weather", "technology")
# Per language: words for each topic, then filler words; "" joins Chinese.
VOCAB: dict[str, tuple[dict[str, list[str]], list[str], str]] = {
    "en": (
        {
            "sports": ("football match team goal player coach season league score stadium").split(),
            "food": (
                "bread soup kitchen dinner recipe cheese garlic salad dessert breakfast"
            ).split(),
            "weather": (
                "rain storm wind cloudy sunny forecast snow temperature humid thunder"
            ).split(),
            "technology": (
                "computer software phone network battery screen chip internet app data"
            ).split(),
        },
        "the a was very today and with our new after this is really quite".split(),
        " ",
    ),
    "es": (
        {
            "sports": (
                "fútbol partido equipo gol jugador entrenador temporada liga estadio árbitro"
            ).split(),
            "food": "pan sopa cocina cena receta queso ajo ensalada postre desayuno".split(),
            "weather": (
                "lluvia tormenta viento nublado soleado pronóstico nieve temperatura húmedo trueno"
            ).split(),
            "technology": (
                "ordenador programa teléfono red batería pantalla chip internet aplicación datos"
            ).split(),
        },
        "el la fue muy hoy y con nuestro nuevo después este es realmente bastante".split(),
        " ",
    ),
    "ru": (
        {
            "sports": "футбол матч команда гол игрок тренер сезон лига стадион судья".split(),
            "food": "хлеб суп кухня ужин рецепт сыр чеснок салат десерт завтрак".split(),
            "weather": (
                "дождь буря ветер облачно солнечно прогноз снег температура влажно гром"
            ).split(),
            "technology": (
                "компьютер программа телефон сеть батарея экран чип интернет приложение данные"
            ).split(),
        },
        "это был очень сегодня и с нашим новый после этот действительно довольно".split(),
        " ",
    ),
    "zh": (
        {
            "sports": "足球 比赛 球队 进球 球员 教练 赛季 联赛 比分 体育场".split(),
            "food": "面包 汤 厨房 晚餐 食谱 奶酪 大蒜 沙拉 甜点 早餐".split(),
            "weather": "下雨 暴风雨 大风 多云 晴天 预报 下雪 温度 潮湿 打雷".split(),
            "technology": "电脑 软件 手机 网络 电池 屏幕 芯片 互联网 应用 数据".split(),
        },
        "这 是 非常 今天 和 我们 的 新 之后 真的 相当 很".split(),
        "",
    ),
    "ar": (
        {
            "sports": "كرة مباراة فريق هدف لاعب مدرب موسم دوري ملعب حكم".split(),
            "food": "خبز حساء مطبخ عشاء وصفة جبن ثوم سلطة حلوى فطور".split(),
            "weather": "مطر عاصفة رياح غائم مشمس توقعات ثلج حرارة رطب رعد".split(),
            "technology": "حاسوب برنامج هاتف شبكة بطارية شاشة رقاقة إنترنت تطبيق بيانات".split(),
        },
        "كان جدا اليوم و مع الجديد بعد هذا هو حقا إلى في".split(),
        " ",
    ),
}
FOREIGN = [
    "Das Wetter ist heute wirklich schön und wir gehen spazieren.",
    "Je voudrais réserver une table pour deux personnes ce soir.",
    "今日はとても良い天気なので公園を散歩しました。",
    "Het is vandaag erg koud en het regent de hele dag.",
]


def make_rows(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` (text, label) rows: 5 languages x 4 topics, mostly unique, with planted problems."""
    rng = np.random.default_rng(seed)
    languages = list(VOCAB)
    lang_of = rng.integers(0, len(languages), n)
    topic_of = rng.integers(0, len(TOPICS), n)
    lengths = rng.integers(6, 14, n)
    picks = rng.random((n, 14))
    texts: list[str] = []
    for i in range(n):
        topic_words, filler, joiner = VOCAB[languages[lang_of[i]]]
        words = topic_words[TOPICS[topic_of[i]]]
        row = picks[i, : lengths[i]]
        chosen = [
            words[int(p * 20) % 10] if p < 0.55 else filler[int(p * 1000) % len(filler)]
            for p in row
        ]
        texts.append(joiner.join(chosen) + ("。" if joiner == "" else "."))
    labels = [TOPICS[t] for t in topic_of]

    def some(fraction: float) -> np.ndarray:
        return rng.choice(n, max(1, int(n * fraction)), replace=False)

    for i in some(0.05):  # exact duplicates
        j = int(rng.integers(0, n))
        texts[i], labels[i] = texts[j], labels[j]
    for i in some(0.01):  # duplicates after normalisation
        j = int(rng.integers(0, n))
        texts[i], labels[i] = "  " + texts[j].upper().rstrip(".。") + " !", labels[j]
    for i in some(0.002):  # same text, another label
        j = int(rng.integers(0, n))
        texts[i], labels[i] = texts[j], TOPICS[(TOPICS.index(labels[j]) + 1) % 4]
    for i in some(0.002):
        texts[i] = texts[i].encode("utf-8").decode("cp1252", errors="replace")
    for i in some(0.002):
        texts[i] = texts[i][:3] + "\u200b" + texts[i][3:]
    for i in some(0.01):
        texts[i] = "" if i % 2 else "   "
    for i in some(0.001):
        texts[i] = "ok"
    for i in some(0.0005):
        texts[i] = FOREIGN[i % len(FOREIGN)]
    for i in some(0.01):  # label variants
        labels[i] = (labels[i].upper(), labels[i].title() + " ", labels[i][:5] + ".")[i % 3]
    for i in some(0.005):
        labels[i] = ""
    return texts, labels


def write_csv(path: Path, n: int) -> None:
    import pandas as pd

    texts, labels = make_rows(n)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)


# ---------------------------------------------------------------- measured runs


def _baseline(path: str) -> dict:
    import pandas as pd

    frame = pd.read_csv(path)
    deduped = frame.drop_duplicates()
    missing = int(frame.isna().sum().sum())
    return {"rows": len(frame), "unique": len(deduped), "missing": missing}


def _taxon(path: str) -> dict:
    import numpy as np
    import pandas as pd

    from engine.cleaning.run import LABEL_ERRORS, applicable_checks, inspect_dataset
    from engine.data.datasets import ITEM, LABEL, ROW_ID, SOURCE_LINE, Dataset, DatasetSource

    table = pd.read_csv(path)
    # The dataset frame as a table reader builds it (column for column, no Python lists).
    frame = pd.DataFrame(
        {
            ROW_ID: np.arange(len(table), dtype=np.int64),
            ITEM: table["text"].astype("string"),
            LABEL: table["label"].astype("string"),
            SOURCE_LINE: pd.array(np.arange(2, len(table) + 2), dtype="Int64"),
        }
    )
    dataset = Dataset(
        "text", frame, DatasetSource("table", path, "csv", item_column="text", label_column="label")
    )
    kinds = [kind for kind in applicable_checks(dataset) if kind != LABEL_ERRORS]
    findings = inspect_dataset(dataset, checks=kinds)
    return {"rows": len(frame), "findings": {f.kind: f.count for f in findings}}


def _child(which: str, path: str) -> None:
    import resource

    import pandas  # noqa: F401  (imports are start-up cost, not part of the measurement)

    if which == "taxon":
        import engine.cleaning.run  # noqa: F401
    start = time.perf_counter()
    result = (_baseline if which == "baseline" else _taxon)(path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":
        peak //= 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "result": result}))


def measure(which: str, path: Path) -> dict:
    """One run in a fresh interpreter (imports are not timed; reading the file is)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="taxon-bench-") as folder:
        path = Path(folder) / "texts.csv"
        start = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"wrote {args.rows:,} rows ({path.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        # Interleaved, so both sides see the same background load on a shared machine.
        runs: dict[str, list[dict]] = {"baseline": [], "taxon": []}
        for _ in range(args.repeat):
            for name in runs:
                runs[name].append(measure(name, path))
    times = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    peaks = {name: max(r["peak_mib"] for r in rs) for name, rs in runs.items()}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    for name in ("baseline", "taxon"):
        spread = ", ".join(f"{r['seconds']:.2f}" for r in runs[name])
        print(f"{name:9s} median {times[name]:6.2f} s ({spread})   peak {peaks[name]:6.0f} MiB")
    ratio = times["taxon"] / times["baseline"]
    paired = statistics.median(
        t["seconds"] / b["seconds"] for b, t in zip(runs["baseline"], runs["taxon"], strict=True)
    )
    print(
        f"ratio     {ratio:.2f}x of medians, {paired:.2f}x median of paired runs "
        f"(target <= 3x) {'OK' if ratio <= 3 else 'MISSED'}"
    )
    print("findings:", json.dumps(runs["taxon"][0]["result"]["findings"], ensure_ascii=False))


if __name__ == "__main__":
    main()
