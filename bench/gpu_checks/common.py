"""What every GPU check shares: the context it runs in, results, data built on the CPU."""

from __future__ import annotations

import csv
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

STATUSES = ("PASS", "FAIL", "SKIP")


@dataclass
class Context:
    """Where a check runs and what the parent built for it (JSON-able: children get a copy)."""

    workdir: str
    device: str = "cuda"  # "cpu" in a dry run
    dry_run: bool = False
    digits: str = ""  # folder of class folders (RGB PNGs)
    digits_size: int = 128
    texts: str = ""  # CSV: text,label
    photos: str = ""  # folder of 12 MP JPEGs
    home: str = ""  # TAXON_HOME of the checks
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Context:
        return cls(**data)

    def path(self, *parts: str) -> Path:
        out = Path(self.workdir).joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        return out


def result(status: str, figure: str, **data: Any) -> dict[str, Any]:
    assert status in STATUSES, status
    return {"status": status, "figure": figure, "data": data}


def line(status: str, name: str, figure: str) -> str:
    """One report line: ``PASS|FAIL|SKIP  <check>  <figure>`` (the figure on one line)."""
    return f"{status}  {name}  {' '.join(str(figure).split())}"


def ratio_verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "FAIL"


@contextmanager
def stopwatch(into: dict[str, float], key: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start


def sync(device: Any) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# ---------------------------------------------------------------- data, built on the CPU


def write_digits_rgb(
    folder: Path,
    size: int,
    per_class: int | None = None,
    classes: tuple[int, ...] = tuple(range(10)),
    copies: int = 1,
) -> Path:
    """``folder/<digit>/<n>.png``: scikit-learn's 8x8 scans upscaled to size x size RGB
    (a faint colour tint per class so the three channels differ); ``copies`` repeats them."""
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    counts: dict[int, int] = {}
    for image, target in zip(data.images, data.target, strict=True):
        target = int(target)
        if target not in classes or (per_class is not None and counts.get(target, 0) >= per_class):
            continue
        counts[target] = counts.get(target, 0) + 1
        grey = (255 - image / 16.0 * 255).astype(np.uint8)
        tint = np.array([1.0, 0.9 + 0.01 * target, 0.8 + 0.02 * target])
        rgb = np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)
        picture = Image.fromarray(rgb, "RGB").resize((size, size), Image.Resampling.BICUBIC)
        out = folder / str(target)
        out.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            picture.save(out / f"{counts[target]:04d}-{copy}.png", compress_level=1)
    return folder


TOPICS = {
    "sport": ["match", "goal", "team", "coach", "season", "league", "score", "player"],
    "food": ["recipe", "dinner", "spicy", "bread", "sauce", "kitchen", "taste", "soup"],
    "travel": ["flight", "hotel", "beach", "ticket", "museum", "trip", "train", "passport"],
    "money": ["bank", "loan", "price", "budget", "salary", "invoice", "tax", "savings"],
}
FILLER = ["the", "a", "really", "today", "was", "very", "my", "we", "and", "about", "this"]


def write_texts(path: Path, rows: int, seed: int = 0) -> Path:
    """A CSV of short English texts in four topics (keywords among filler words)."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for row in range(rows):
            topic = names[row % len(names)]
            words = list(rng.choice(FILLER, int(rng.integers(6, 20))))
            for _ in range(int(rng.integers(1, 4))):
                words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(TOPICS[topic])))
            writer.writerow([" ".join(words).capitalize() + ".", topic])
    return path


def write_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """``count`` photo-like JPEGs (quality 90), as bench/classify.py makes them."""
    from classify import make_photo  # bench/classify.py, beside this package

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"photo_{seed:03d}.jpg"
        make_photo(size, seed).save(path, quality=90)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- out-of-memory plan


def oom_plan(
    total_bytes: int,
    per_sample_bytes: float,
    overshoot: float = 1.5,
    validation_fraction: float = 0.1,
) -> dict[str, int]:
    """A first batch that needs ``overshoot`` x the GPU's memory, and enough files for it.

    Training rows must reach the batch or the first batch is smaller than asked.
    """
    batch = int(math.ceil(overshoot * total_bytes / max(per_sample_bytes, 1.0)))
    rows = int(math.ceil(batch * 1.05 / (1.0 - validation_fraction)))
    expected = 0
    size = batch
    while size * per_sample_bytes > 0.9 * total_bytes and size > 1:
        size //= 2
        expected += 1
    return {"batch": batch, "rows": rows, "expected_halvings": expected, "final_batch": size}
