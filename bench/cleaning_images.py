"""Benchmark: finding near-duplicate images in 1,000 and 10,000 pictures.

Run ``python bench/cleaning_images.py`` (``--quick`` for a smoke run). It generates
photo-like pictures (colour gradients, shapes, blur, grain; 128×128 and 160×120,
JPEG quality 90) in parallel into a temporary folder, and plants near copies of 5 %
of them, a third each: resized (50-80 %, PNG), re-compressed (JPEG quality 40), and
slightly cropped (1-5 % of width and height in all, split at random between the two
sides, JPEG 90). The 1,000-image set is the first 950 originals plus the first 50
copies of the 10,000-image set. For each set it times, separately:

- hashing: ``engine.cleaning.image_facts.compute_facts`` (read, content hash, draft
  decode, pHash, dHash, colour thumbnail, in worker processes) — linear by
  construction;
- search: the near-duplicate search the checks run (multi-index hashing on pHash,
  dHash and colour confirmation), median of several runs, and the O(n²) brute force
  over the same hashes for comparison;

and reports recall and precision against the planted pairs, recall per kind of copy,
and a threshold table for calibration. ``--features N`` also times the feature
extractor (ONNX Runtime and PyTorch, cold cache, then cached) on N pictures.

Targets: search time(10k) / time(1k) ≤ 15× (near-linear); recall ≥ 0.95.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers.synthetic import natural  # noqa: E402  (after sys.path is set)

KINDS = ("resized", "recompressed", "cropped")
COPY_SHARE = 0.05


# ---------------------------------------------------------------- generated pictures


def _size(seed: int) -> tuple[int, int]:
    return (160, 120) if seed % 2 else (128, 128)


def make_original(args: tuple[int, str]) -> str:
    seed, folder = args
    path = os.path.join(folder, f"o{seed:05d}.jpg")
    natural(seed, *_size(seed)).save(path, quality=90)
    return path


def make_copy(args: tuple[int, int, str]) -> str:
    """Copy number ``j`` of original ``source``: kind ``KINDS[j % 3]``."""
    from PIL import Image

    j, source, folder = args
    rng = np.random.default_rng(1_000_000 + j)
    image = natural(source, *_size(source))
    kind = KINDS[j % 3]
    if kind == "resized":
        scale = rng.uniform(0.5, 0.8)
        size = (round(image.width * scale), round(image.height * scale))
        path = os.path.join(folder, f"c{j:05d}.png")
        image.resize(size, Image.Resampling.BICUBIC).save(path)
    elif kind == "recompressed":
        path = os.path.join(folder, f"c{j:05d}.jpg")
        image.save(path, quality=40)
    else:
        w, h = image.size
        cut_w, cut_h = rng.uniform(0.01, 0.05) * w, rng.uniform(0.01, 0.05) * h
        left, top = rng.uniform(0, 1) * cut_w, rng.uniform(0, 1) * cut_h
        box = (round(left), round(top), w - round(cut_w - left), h - round(cut_h - top))
        path = os.path.join(folder, f"c{j:05d}.jpg")
        image.crop(box).save(path, quality=90)
    return path


def generate(folder: str, n: int) -> tuple[list[str], list[str], list[int]]:
    """``n`` files: originals, then copies; the copies' sources."""
    copies = int(round(n * COPY_SHARE))
    originals = n - copies
    sources = [(j * 19) % originals for j in range(copies)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(os.cpu_count() or 1) as pool:
        original_paths = pool.map(make_original, [(s, folder) for s in range(originals)], 64)
        copy_paths = pool.map(make_copy, [(j, s, folder) for j, s in enumerate(sources)], 16)
    return original_paths, copy_paths, sources


# ---------------------------------------------------------------- measuring


def pairs_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in pairs}


def measure(paths: list[str], truth: dict[tuple[int, int], str], repeat: int) -> dict:
    """Hash once, then time the search; rows are indices into ``paths``."""
    from engine.cleaning import image_facts, near_duplicates
    from engine.data.datasets import make_frame
    from engine.data.image_pool import _digests

    image_facts._memo.clear()
    _digests.clear()
    frame = make_frame(paths, ["x"] * len(paths))
    start = time.perf_counter()
    facts = image_facts.compute_facts(frame)
    hashing = time.perf_counter() - start
    reps = facts.representatives
    times = []
    for _ in range(repeat):
        facts._near = None
        start = time.perf_counter()
        pairs, stats = facts.near_pairs()
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    brute = near_duplicates.brute_force_pairs(facts.phash[reps], near_duplicates.PHASH_MAX)
    brute_s = time.perf_counter() - start
    candidates = near_duplicates.hamming_pairs(facts.phash[reps], near_duplicates.PHASH_MAX)
    found = pairs_set(np.sort(reps[pairs], axis=1))
    hits = {pair for pair in truth if pair in found}
    per_kind = {
        kind: (
            sum(1 for p, k in truth.items() if k == kind and p in hits),
            sum(1 for k in truth.values() if k == kind),
        )
        for kind in KINDS
    }
    return {
        "n": len(paths),
        "hashing_s": hashing,
        "search_s": statistics.median(times),
        "brute_force_s": brute_s,
        "search_equals_brute": np.array_equal(candidates, brute),
        "candidates": stats["phash_candidates"],
        "pairs": len(found),
        "recall": len(hits) / len(truth),
        "precision": len(hits) / max(1, len(found)),
        "false_pairs": len(found) - len(hits),
        "per_kind": per_kind,
        "facts": facts,
        "reps": reps,
    }


def threshold_table(result: dict, truth: dict[tuple[int, int], str]) -> list[str]:
    """Recall/precision of other settings, over all pairs (brute force), for calibration."""
    from engine.cleaning import near_duplicates as nd

    facts, reps = result["facts"], result["reps"]
    phash, dhash = facts.phash[reps], facts.dhash[reps]
    colour = facts.colour[reps].astype(np.int16)
    everything = nd.brute_force_pairs(phash, 14)
    left, right = everything[:, 0], everything[:, 1]
    dp = np.bitwise_count(phash[left] ^ phash[right])
    dd = np.bitwise_count(dhash[left] ^ dhash[right])
    dc = np.abs(colour[left] - colour[right]).mean(axis=1)
    rows_of = np.stack([reps[left], reps[right]], axis=1)
    planted = np.array([(min(a, b), max(a, b)) in truth for a, b in rows_of.tolist()], dtype=bool)
    lines = [
        "| pHash ≤ | dHash ≤ | colour ≤ | recall | precision | false pairs |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p, d, c in (
        (6, 64, 999),
        (8, 64, 999),
        (8, 20, 999),
        (10, 64, 999),
        (10, 20, 999),
        (10, 20, nd.COLOUR_MAX),
        (12, 20, nd.COLOUR_MAX),
        (14, 20, nd.COLOUR_MAX),
    ):
        chosen = (dp <= p) & (dd <= d) & (dc <= c)
        good = int((chosen & planted).sum())
        lines.append(
            f"| {p} | {d if d < 64 else '—'} | {c if c < 999 else '—'} | "
            f"{good / len(truth):.3f} | {good / max(1, int(chosen.sum())):.3f} | "
            f"{int((chosen & ~planted).sum())} |"
        )
    return lines


def time_features(paths: list[str], folder: str) -> list[str]:
    """Cold and cached feature extraction per backend (fresh cache folder each)."""
    from engine.models import image_features

    lines = [
        "| backend | first call (model load or export, 16 images) | img/s | cached call |",
        "| --- | ---: | ---: | ---: |",
    ]
    for backend in ("onnx", "torch"):
        os.environ["TAXON_HOME"] = os.path.join(folder, f"home-{backend}")
        image_features._runners.clear()
        start = time.perf_counter()
        image_features.image_features(paths[:16], backend=backend)  # load, export, warm up
        load = time.perf_counter() - start
        start = time.perf_counter()
        image_features.image_features(paths[16:], backend=backend)
        rate = (len(paths) - 16) / (time.perf_counter() - start)
        start = time.perf_counter()
        image_features.image_features(paths, backend=backend)
        cached = time.perf_counter() - start
        lines.append(
            f"| {backend} | {load:.1f} s | {rate:.1f} | {cached * 1000:.0f} ms "
            f"({len(paths)} images) |"
        )
    return lines


def cosine_calibration(originals: list[str], folder: str) -> list[str]:
    """Cosine similarity of the built-in model's features: copies against their
    originals, and distinct pictures against each other (uses the cache filled above)."""
    from engine.models import image_features

    n = len(originals)
    sub = os.path.join(folder, "cosine")
    os.makedirs(sub, exist_ok=True)
    copies = [make_copy((100_000 + i, i, sub)) for i in range(n)]
    features = image_features.image_features(originals + copies)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    planted = np.sum(unit[:n] * unit[n:], axis=1)
    distinct = (unit[:n] @ unit[:n].T)[np.triu_indices(n, 1)]
    lines = [
        "| pairs | count | min | 1st percentile | median | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, values in [
        (f"copy vs original ({kind})", planted[k::3])
        for k, kind in enumerate(("resized", "recompressed", "cropped"))
    ] + [("distinct pictures", distinct)]:
        lines.append(
            f"| {name} | {len(values)} | {values.min():.3f} | "
            f"{np.percentile(values, 1):.3f} | {np.median(values):.3f} | "
            f"{values.max():.3f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 and 1,000 images")
    parser.add_argument("--repeat", type=int, default=5, help="timed search runs per size")
    parser.add_argument(
        "--features",
        type=int,
        default=200,
        help="time the feature extractor on this many images (0: skip)",
    )
    args = parser.parse_args()
    small, large = (300, 1000) if args.quick else (1000, 10_000)
    features = min(args.features, 48) if args.quick else args.features
    with tempfile.TemporaryDirectory(prefix="taxon-bench-images-") as folder:
        os.environ["TAXON_HOME"] = os.path.join(folder, "home")
        start = time.perf_counter()
        originals, copies, sources = generate(folder, large)
        print(f"generated {large} images in {time.perf_counter() - start:.1f} s", flush=True)
        results = []
        for n in (small, large):
            n_copies = int(round(n * COPY_SHARE))
            paths = originals[: n - n_copies] + copies[:n_copies]
            truth = {(sources[j], n - n_copies + j): KINDS[j % 3] for j in range(n_copies)}
            results.append(measure(paths, truth, args.repeat))
            result = results[-1]
            print(
                f"n={n}: hashing {result['hashing_s']:.2f} s "
                f"({n / result['hashing_s']:.0f} img/s), search {result['search_s'] * 1000:.1f} ms"
                f" (brute force {result['brute_force_s'] * 1000:.0f} ms, same pairs: "
                f"{result['search_equals_brute']}), pHash candidates {result['candidates']}, "
                f"recall {result['recall']:.3f}, precision {result['precision']:.3f} "
                f"({result['false_pairs']} false pairs), per kind {result['per_kind']}",
                flush=True,
            )
        a, b = results
        print(
            f"\nsearch time ratio {large}/{small}: {b['search_s'] / a['search_s']:.1f}× "
            f"(target ≤ 15× for 10×); hashing ratio {b['hashing_s'] / a['hashing_s']:.1f}×"
        )
        print(f"\nThresholds on the {large}-image set:")
        print("\n".join(threshold_table(b, truth)))
        if features:
            print(f"\nFeatures on {features} pictures:")
            print("\n".join(time_features(originals[:features], folder)))
            print("\nCosine similarity of features:")
            print("\n".join(cosine_calibration(originals[:features], folder)))
    print(
        f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


if __name__ == "__main__":
    main()
