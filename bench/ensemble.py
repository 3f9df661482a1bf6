"""Benchmark: does a combination of models beat its members on held-out data?

Run ``python bench/ensemble.py`` (``--quick`` for a smoke run, ``--json PATH``,
``--skip-finetune``, ``--only images,text``). One process, a temporary
``TAXON_HOME`` unless one is set; CPU.

- images: scikit-learn's digits (real 8x8 scans, upscaled to 32 px PNGs) split
  once into a training pool and a held-out test set (stratified, seed 0). Members
  trained on the pool with the same split seed (so their validation sets agree and
  the weights are fitted): Standard (fast) mode twice (default settings; a short
  run with a high learning rate), and Thorough (finetune, 1 epoch, top blocks).
- text: chatterbot-corpus topics (languages with the topic in >= 10 of them),
  split by (topic, conversation) so a conversation and its translations sit on one
  side; Quick (instant) and Standard (fast) members.

Each member, and each combination made by ``engine.models.ensemble.combine``, is scored
with ``evaluate_classifier`` on the held-out test set (never seen by training,
nor by the weight search).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _score(package: Path, dataset) -> float:
    from engine.models.evaluation import evaluate_classifier
    from engine.models.loading import load_classifier

    classifier = load_classifier(package)
    try:
        return float(evaluate_classifier(classifier, dataset).accuracy)
    finally:
        classifier.close()


def _train(dataset, out: Path, **settings) -> Path:
    from engine.training import TrainConfig, train

    started = time.monotonic()
    package = train(dataset, out, TrainConfig(seed=0, device="cpu", **settings)).package
    print(f"  trained {out.name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return package


def _combine(members: list[Path], out: Path):
    from engine.models.ensemble import combine

    return combine(members, out)


def _table(members: dict[str, Path], test, temp: Path, combos: list[tuple[str, ...]]) -> dict:
    scores = {name: _score(path, test) for name, path in members.items()}
    for combo in combos:
        result = _combine([members[name] for name in combo], temp / ("+".join(combo)))
        scores["+".join(combo)] = _score(result.package, test)
        scores["+".join(combo) + " weights"] = [round(m.weight, 3) for m in result.members]
        scores["+".join(combo) + " validation"] = result.accuracy
    return scores


def run_images(args, temp: Path) -> dict:
    from sklearn.model_selection import train_test_split

    from bench.train import digits, write_pictures
    from engine.data.dataset_io import load_dataset

    images, labels = digits()
    count = 400 if args.quick else len(labels)
    images, labels = images[:count], labels[:count]
    pool, test, pool_y, test_y = train_test_split(
        images, labels, test_size=0.3, stratify=labels, random_state=0
    )
    write_pictures(temp / "pool", pool, [str(y) for y in pool_y], 32)
    write_pictures(temp / "test", test, [str(y) for y in test_y], 32)
    train_data, test_data = load_dataset(str(temp / "pool")), load_dataset(str(temp / "test"))
    members = {
        "fast": _train(train_data, temp / "fast", mode="fast"),
        "fast-hot": _train(train_data, temp / "fast-hot", mode="fast", epochs=5, learning_rate=0.1),
    }
    combos = [("fast", "fast-hot")]
    if not args.skip_finetune:
        members["finetune"] = _train(
            train_data, temp / "finetune", mode="finetune", epochs=1, train_blocks="top", workers=0
        )
        combos += [("fast", "finetune"), ("fast", "fast-hot", "finetune")]
    return {"test_items": len(test_y), **_table(members, test_data, temp, combos)}


def run_text(args, temp: Path) -> dict:
    import pandas as pd

    from bench.text import corpus_rows, read_corpus
    from engine.data.dataset_io import load_dataset

    rows = corpus_rows(read_corpus(), 10).reset_index(drop=True)
    if args.quick:
        rows = rows[rows["language"].isin(["english", "german", "spanish"])]
    groups = rows["topic"] + "/" + rows["conv"].astype(str)
    rng = np.random.default_rng(0)
    unique = groups.unique()
    held = set(rng.choice(unique, size=len(unique) // 4, replace=False))
    is_test = groups.isin(held)
    for name, part in (("pool", rows[~is_test]), ("test", rows[is_test])):
        pd.DataFrame({"text": part["text"], "label": part["topic"]}).to_csv(
            temp / f"{name}.csv", index=False
        )
    train_data = load_dataset(str(temp / "pool.csv"))
    test_data = load_dataset(str(temp / "test.csv"))
    members = {
        "instant": _train(train_data, temp / "instant", mode="instant"),
        "fast": _train(train_data, temp / "fast-text", mode="fast"),
    }
    return {
        "test_items": int(is_test.sum()),
        **_table(members, test_data, temp, [("instant", "fast")]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-finetune", action="store_true")
    parser.add_argument("--only", default="images,text")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taxon-bench-ensemble-") as folder:
        os.environ.setdefault("TAXON_HOME", str(Path(folder) / "home"))
        results = {}
        for section, run in (("images", run_images), ("text", run_text)):
            if section in args.only.split(","):
                temp = Path(folder) / section
                temp.mkdir()
                results[section] = run(args, temp)
                print(json.dumps({section: results[section]}, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
