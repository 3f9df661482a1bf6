"""Benchmark: are the data-health findings true? Precision and recall on planted problems.

Run ``python bench/health_quality.py`` (``--quick`` skips the photos and the text model).
It builds every dataset itself, in a temporary folder, with a fixed seed:

- digits: scikit-learn's 1,797 handwritten digits as 64x64 PNGs in class folders,
  clean and with 5% and 10% of the labels flipped to another digit;
- photos: scikit-image and scikit-learn sample photos plus planted copies of some
  (resized, recompressed as JPEG, cropped);
- chatterbot-corpus English (distinct lines, topic = label) with 5% flipped labels;
- short English lines alone, and with 20% Spanish and French lines mixed in.

Everything runs through ``engine.cleaning.run.inspect_dataset`` as the app does. It
prints, per check, precision and recall, false alarms on clean data, and the rows the
default ``clean`` removes (findings not in ``REVIEW_BEFORE_FIXING``), beside a plain
baseline: cleanlab on logistic-regression out-of-fold probabilities over raw pixels.
Image features are cached in the user cache folder after the first run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 0


def _score(flagged: set, planted: set) -> tuple[float, float, int]:
    hits = len(flagged & planted)
    precision = hits / len(flagged) if flagged else 1.0
    recall = hits / len(planted) if planted else 1.0
    return precision, recall, len(flagged)


def _flip(labels: list[str], rate: float, seed: int = SEED) -> tuple[list[str], set[int]]:
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    rows = rng.choice(len(labels), round(rate * len(labels)), replace=False)
    out = list(labels)
    for row in rows:
        out[row] = str(rng.choice([c for c in classes if c != labels[row]]))
    return out, set(rows.tolist())


def _dataset(task: str, items: list[str], labels: list[str]):
    from engine.data.datasets import Dataset, DatasetSource, make_frame

    return Dataset(task, make_frame(items, labels), DatasetSource("folder", "bench"))


def _flagged(findings, kind_test) -> set[int]:
    return {row for f in findings if kind_test(f.kind) for row in f.row_ids}


def _default_removed(dataset, findings) -> int:
    """Rows the default ``clean`` removes (kinds safe to fix without review)."""
    from engine.cleaning.findings import REVIEW_BEFORE_FIXING
    from engine.cleaning.plan import CleaningPlan

    plan = CleaningPlan()
    for finding in findings:
        if finding.fix is not None and finding.kind not in REVIEW_BEFORE_FIXING:
            plan.add_finding(finding)
    return len(dataset) - len(plan.apply(dataset))


def _baseline_errors(pixels: np.ndarray, labels: list[str]) -> set[int]:
    """cleanlab on 5-fold logistic regression over raw (standardised) pixels."""
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, y = np.unique(labels, return_inverse=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    probs = cross_val_predict(model, pixels, y, cv=5, method="predict_proba")
    return set(np.flatnonzero(find_label_issues(y, probs, n_jobs=1)).tolist())


def bench_digits(folder: Path, rows: list[tuple]) -> None:
    from PIL import Image

    from engine.cleaning.run import LABEL_ERRORS, inspect_dataset
    from tests.helpers.digits import write_digits

    write_digits(folder, size=64)
    paths = sorted(folder.glob("*/*.png"))
    items, truth = [str(p) for p in paths], [p.parent.name for p in paths]
    pixels = np.stack([np.asarray(Image.open(p), dtype=np.float32).ravel() for p in paths])
    for rate in (0.0, 0.05, 0.10):
        labels, planted = _flip(truth, rate) if rate else (truth, set())
        data = _dataset("image", items, labels)
        start = time.perf_counter()
        findings = (
            inspect_dataset(data) if rate == 0 else inspect_dataset(data, checks=[LABEL_ERRORS])
        )
        seconds = time.perf_counter() - start
        flagged = _flagged(findings, lambda kind: kind == LABEL_ERRORS)
        name = f"digits {rate:.0%} flipped"
        rows.append(("label errors", name, "taxon", *_score(flagged, planted), seconds))
        start = time.perf_counter()
        base = _baseline_errors(pixels, labels)
        rows.append(
            (
                "label errors",
                name,
                "baseline (LR on pixels + cleanlab)",
                *_score(base, planted),
                time.perf_counter() - start,
            )
        )
        if rate == 0:
            rows.append(
                (
                    "default clean",
                    "digits clean",
                    "rows removed",
                    np.nan,
                    np.nan,
                    _default_removed(data, findings),
                    seconds,
                )
            )


def _photos() -> list[tuple[str, np.ndarray]]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [(f"sklearn{i}", image) for i, image in enumerate(load_sample_images().images)]
    for name in (
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "immunohistochemistry",
        "camera",
        "coins",
        "colorwheel",
    ):
        try:
            photos.append((name, getattr(skimage.data, name)()))
        except Exception:  # noqa: BLE001 - a sample that needs a download is skipped
            continue
    return photos


def bench_photos(folder: Path, rows: list[tuple]) -> None:
    from PIL import Image

    from engine.cleaning.run import inspect_dataset

    items, labels, planted = [], [], set()
    for index, (name, array) in enumerate(_photos()):
        image = Image.fromarray(array).convert("RGB")
        label = "a" if index % 2 else "b"
        path = folder / f"{name}.png"
        image.save(path)
        items.append(str(path))
        labels.append(label)
        if index % 2 == 0:  # every other photo gets one planted copy
            width, height = image.size
            kind = ("resized", "recompressed", "cropped")[(index // 2) % 3]
            copy = folder / f"{name}-{kind}.jpg"
            if kind == "resized":
                image.resize((width // 2, height // 2)).save(copy, quality=90)
            elif kind == "recompressed":
                image.save(copy, quality=40)
            else:
                image.crop(
                    (width // 20, height // 20, width - width // 20, height - height // 20)
                ).save(copy, quality=90)
            planted.add(len(items))
            items.append(str(copy))
            labels.append(label)
    data = _dataset("image", items, labels)
    start = time.perf_counter()
    findings = inspect_dataset(data)
    seconds = time.perf_counter() - start
    # A planted copy counts as found when a duplicate finding groups it with its original.
    groups = [set(g) for f in findings if "duplicate" in f.kind for g in f.groups]
    flagged = {row for group in groups for row in group}
    pairs = {row for row in planted if any({row - 1, row} <= g for g in groups)}
    originals = {row - 1 for row in planted}
    precision = len(flagged & (planted | originals)) / len(flagged) if flagged else 1.0
    rows.append(
        (
            "duplicates",
            f"{len(items)} photos, {len(planted)} copies",
            "taxon",
            precision,
            len(pairs) / len(planted),
            len(flagged),
            seconds,
        )
    )
    rows.append(
        (
            "default clean",
            "photos with copies",
            f"rows removed (planted copies: {len(planted)})",
            np.nan,
            np.nan,
            _default_removed(data, findings),
            seconds,
        )
    )


def _chatterbot(language: str) -> dict[str, str]:
    from bench.text import read_corpus

    seen: dict[str, str] = {}
    for (lang, topic), conversations in read_corpus().items():
        if lang == language:
            for conversation in conversations:
                for line in conversation:
                    seen.setdefault(line, topic)
    return seen


def bench_text(rows: list[tuple], quick: bool) -> None:
    from engine.cleaning.run import LABEL_ERRORS, inspect_dataset
    from engine.cleaning.text_checks import check_language_mix, check_unexpected_language

    english = _chatterbot("english")
    texts, truth = list(english), list(english.values())
    if not quick:
        labels, planted = _flip(truth, 0.05)
        start = time.perf_counter()
        findings = inspect_dataset(_dataset("text", texts, labels), checks=[LABEL_ERRORS])
        flagged = _flagged(findings, lambda kind: kind == LABEL_ERRORS)
        rows.append(
            (
                "label errors",
                "chatterbot English 5% flipped",
                "taxon (e5)",
                *_score(flagged, planted),
                time.perf_counter() - start,
            )
        )
    data = _dataset("text", texts, truth)
    start = time.perf_counter()
    mix = check_language_mix(data)
    stray = check_unexpected_language(data)
    false = len(mix) + sum(f.count for f in stray)
    rows.append(
        (
            "languages",
            f"{len(texts)} short English lines",
            "false findings (mix + rows)",
            np.nan,
            np.nan,
            false,
            time.perf_counter() - start,
        )
    )
    foreign = list(_chatterbot("spanish"))[:250] + list(_chatterbot("french"))[:100]
    mixed = texts[:1400] + foreign
    start = time.perf_counter()
    found = check_language_mix(_dataset("text", mixed, ["x"] * len(mixed)))
    languages = set(found[0].stats) if found else set()
    rows.append(
        (
            "languages",
            "English + 20% Spanish/French",
            "mix found (en, es, fr)",
            np.nan,
            len({"en", "es", "fr"} & languages) / 3,
            len(languages),
            time.perf_counter() - start,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits and languages only")
    args = parser.parse_args()
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="taxon-health-") as tmp:
        bench_digits(Path(tmp) / "digits", rows)
        if not args.quick:
            (Path(tmp) / "photos").mkdir()
            bench_photos(Path(tmp) / "photos", rows)
        bench_text(rows, args.quick)
    print(
        "| check | data | method | precision | recall | flagged | seconds |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: |"
    )
    for check, data, method, precision, recall, flagged, seconds in rows:
        cells = ["" if np.isnan(v) else f"{v:.3f}" for v in (precision, recall)]
        print(
            f"| {check} | {data} | {method} | {cells[0]} | {cells[1]} | {flagged} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
