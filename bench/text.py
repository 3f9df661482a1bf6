"""Benchmark: text classification on chatterbot-corpus (accuracy, cross-lingual, speed).

Run ``python bench/text.py`` (``--quick`` for a smoke run, ``--only SECTION,...``,
``--skip-finetune``, ``--threads N`` to pin torch's CPU threads, ``--device cuda``,
``--json PATH``). The corpus is the ``chatterbot-corpus`` package (a dev
requirement): YAML small talk, one file per language and topic. Each conversation
line is a text and its file's topic the label. Topics: those with files in at
least ``--min-languages`` (10) languages, less ``conversations`` and ``trivia``
(general chat and quiz questions, not topics).

Translations of a line must not sit in both training and test folds, so rows
are grouped by: the same text (case and spacing ignored); the same topic,
conversation and line position in files of identical layout (the same
conversation lengths: a translated file); and, for files translated with
conversations left out or added, mutual nearest neighbours between the file
and the English file of the topic at e5 cosine >= 0.87 (matching all pairs of
languages instead chained a third of the corpus into one group). Grouping too
much only makes the test harder; too little would leak.

Sections (one process, a temporary ``TAXON_HOME`` unless one is set):

- folds: 5-fold stratified, grouped topic accuracy of instant, fast and fine-tune.
  Fine-tune takes seconds per step on a CPU, so it trains ``--finetune-epochs``
  (1) on ``--finetune-per-topic`` (180) rows per topic of the training folds of
  ``--finetune-folds`` (5) folds and is scored on ``--finetune-test`` (270) rows
  of each test fold, with instant and fast scored on the same rows beside it.
- crosslingual: fast and instant trained on the English rows only, scored per
  other language. Target: mean accuracy >= 0.65 for fast.
- throughput: texts/s of ``TextEncoder.encode`` and of a fast model's
  ``predict_texts`` against plain transformers (``bench/text_embed.py``'s
  ``plain_encode``: AutoModel + mean pooling; + the same head), batch 32, median
  of 3 alternating rounds. Target: >= 1.0x. Text does not use ONNX Runtime.
- scale: instant training time on 100,000 generated rows (``generate_rows``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: File names that spell a shared topic differently.
TOPIC_ALIASES = {
    "ia": "ai",
    "dinero": "money",
    "emociones": "emotion",
    "emotions": "emotion",
    "sport": "sports",
    "coversations": "conversations",
    "computer": "computers",
    "greeting": "greetings",
    "botprofile": "profile",
    "perfilbot": "profile",
    "psicologia": "psychology",
}
NOT_TOPICS = ("conversations", "trivia")
MATCH_COSINE = 0.87
PIVOT = "english"
SECTIONS = ("folds", "crosslingual", "throughput", "scale")
#: Option: (full run, --quick).
SIZES = {
    "finetune_folds": (5, 1),
    "finetune_per_topic": (180, 20),
    "finetune_test": (270, 90),
    "texts": (256, 64),
    "scale_rows": (100_000, 20_000),
    "scale_repeats": (3, 1),
}


def read_corpus() -> dict[tuple[str, str], list[list[str]]]:
    """{(language, topic): conversations as lists of lines}, read with ``yaml.safe_load``."""
    import importlib.util

    import yaml

    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or spec.origin is None:
        sys.exit("chatterbot-corpus is not installed: pip install -r requirements-dev.txt")
    files = {}
    for path in sorted((Path(spec.origin).parent / "data").glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        conversations = []
        for conversation in data.get("conversations") or []:  # a few are one plain string
            lines = [conversation] if isinstance(conversation, str) else conversation or []
            conversations.append([str(line).strip() for line in lines if line is not None])
        stem = path.stem.lower()
        files[(path.parent.name, TOPIC_ALIASES.get(stem, stem))] = conversations
    return files


def corpus_rows(files: dict[tuple[str, str], list[list[str]]], min_languages: int) -> pd.DataFrame:
    """One row per non-empty line of the chosen topics: text, topic, language, conv, pos,
    layout (the file's conversation lengths)."""
    languages = defaultdict(set)
    for language, topic in files:
        languages[topic].add(language)
    topics = {t for t, found in languages.items() if len(found) >= min_languages} - set(NOT_TOPICS)
    rows = []
    for (language, topic), conversations in files.items():
        if topic in topics:
            layout = tuple(len(c) for c in conversations)
            rows += [
                (line, topic, language, c, p, layout)
                for c, conversation in enumerate(conversations)
                for p, line in enumerate(conversation)
                if line
            ]
    return pd.DataFrame(rows, columns=["text", "topic", "language", "conv", "pos", "layout"])


def translation_groups(rows: pd.DataFrame, vectors: np.ndarray) -> tuple[np.ndarray, dict]:
    """A group id per row (rows indexed 0..n-1; see the module doc), and what was linked."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges: list[tuple[int, int]] = []
    same_text = rows["text"].str.casefold().str.split().str.join(" ")
    for key in (same_text, ["topic", "layout", "conv", "pos"]):
        for members in rows.groupby(key).indices.values():
            edges += [(members[0], other) for other in members[1:]]
    by_layout = len(edges)
    for _topic, part in rows.groupby("topic"):
        pivot = part.index[part["language"] == PIVOT]
        for language, members in part.groupby("language").indices.items():
            if language == PIVOT or not len(pivot):
                continue
            others = part.index[members]
            sims = vectors[others] @ vectors[pivot].T
            best_pivot, best_other = sims.argmax(1), sims.argmax(0)
            edges += [
                (others[i], pivot[j])
                for i, j in enumerate(best_pivot)
                if best_other[j] == i and sims[i, j] >= MATCH_COSINE
            ]

    def components(pairs: list[tuple[int, int]]) -> np.ndarray:
        ends = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(len(rows),) * 2)
        return connected_components(graph, directed=False)[1]

    def multilingual(groups: np.ndarray) -> int:  # rows grouped with another language's row
        spread = rows["language"].groupby(groups).nunique()
        return int((spread.reindex(groups).to_numpy() > 1).sum())

    groups = components(edges)
    return groups, {
        "groups": int(groups.max()) + 1,
        "largest": int(np.bincount(groups).max()),
        "multilingual": multilingual(groups),
        "multilingual_by_layout": multilingual(components(edges[:by_layout])),
    }


def folds(rows: pd.DataFrame, groups: np.ndarray, k: int, seed: int):
    """(train, validation, test) row positions: stratified by topic, grouped."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = rows["topic"].to_numpy()
    outer = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for train_val, test in outer.split(y, y, groups):
        inner = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed + 1)
        fit, val = next(inner.split(train_val, y[train_val], groups[train_val]))
        yield train_val[fit], train_val[val], test


def per_topic(rows: pd.DataFrame, positions: np.ndarray, count: int, rng) -> np.ndarray:
    """At most ``count`` of ``positions`` per topic, drawn at random."""
    topics = rows["topic"].to_numpy()[positions]
    return np.concatenate(
        [rng.permutation(positions[topics == t])[:count] for t in np.unique(topics)]
    )


def ticker(label: str):
    """A progress callback printing a line every 30 s (fine-tuning takes minutes)."""
    last = [time.monotonic()]

    def progress(done, total, message) -> None:
        if time.monotonic() - last[0] >= 30:
            last[0] = time.monotonic()
            print(f"    ... {label}: {done}/{total or '?'} {message}", file=sys.stderr, flush=True)

    return progress


def train_on(texts, labels, out: Path, args, mode: str, splits=None, **settings) -> Path:
    """Train through ``engine.training.train`` as the GUI does; the package's path."""
    from engine.data.datasets import Dataset, DatasetSource, make_frame
    from engine.training import TrainConfig, train

    data = Dataset(
        "text",
        make_frame(list(texts), list(labels), splits=splits),
        DatasetSource("table", "chatterbot-corpus"),
        name="chatterbot-corpus",
    )
    config = TrainConfig(mode=mode, seed=args.seed, device=args.device, **settings)
    return train(data, out, config, ticker(mode)).package


class Scorer:
    """Probabilities from a package. Fast models are scored from the cached e5 vectors and
    the package's own head (``predict_texts`` would run the network over every text again),
    checked once against ``load_classifier(...).predict_texts``."""

    checked = False

    def __init__(self, package: Path, device: str) -> None:
        from engine.models.loading import load_classifier
        from engine.models.package import load_package

        self.package, self.device = load_package(package), device
        self.classifier = load_classifier(package)

    def head(self):
        tensors = self.package.tensors()
        return tensors["classifier.weight"], tensors["classifier.bias"]

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.package.kind != "text-linear":
            return self.classifier.predict_texts(texts)
        from engine.models.text_features import text_features

        weight, bias = (t.numpy() for t in self.head())
        logits = text_features(texts, device=self.device) @ weight.T + bias
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        if not Scorer.checked:
            gap = float(np.abs(self.classifier.predict_texts(texts[:32]) - probs[:32]).max())
            if gap > 1e-3:
                raise SystemExit(f"cached scoring differs from predict_texts by {gap}")
            Scorer.checked = True
        return probs

    def predict(self, texts: list[str]) -> np.ndarray:
        return np.array(self.package.labels)[self(list(texts)).argmax(1)]


def run_folds(rows: pd.DataFrame, groups: np.ndarray, args, temp: Path) -> dict:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(args.seed)
    truth, texts = rows["topic"].to_numpy(), rows["text"].to_numpy()
    pooled = {mode: np.empty(len(rows), dtype=object) for mode in ("instant", "fast")}
    accuracy, seconds, sample = defaultdict(list), defaultdict(list), defaultdict(list)

    def fit_and_predict(mode, fit, val, test, **settings) -> np.ndarray:
        start = time.perf_counter()
        splits = ["train"] * len(fit) + ["validation"] * len(val)
        both = np.concatenate([fit, val])
        package = train_on(texts[both], truth[both], temp / mode, args, mode, splits, **settings)
        seconds[mode].append(time.perf_counter() - start)
        predicted = Scorer(package, args.device).predict(texts[test].tolist())
        shutil.rmtree(package, ignore_errors=True)  # a fine-tuned one is ~470 MB
        accuracy[mode].append(float((predicted == truth[test]).mean()))
        return predicted

    for k, (fit, val, test) in enumerate(folds(rows, groups, 5, args.seed), 1):
        for mode in ("instant", "fast"):
            pooled[mode][test] = fit_and_predict(mode, fit, val, test)
        line = f"  fold {k}: {len(fit)} train, {len(val)} validation, {len(test)} test"
        if not args.skip_finetune and k <= args.finetune_folds:
            sub = rng.permutation(test)[: args.finetune_test]
            fit_and_predict(
                "finetune",
                per_topic(rows, fit, args.finetune_per_topic, rng),
                per_topic(rows, val, max(5, args.finetune_per_topic // 4), rng),
                sub,
                epochs=args.finetune_epochs,
            )
            for mode in ("instant", "fast"):
                sample[mode].append(float((pooled[mode][sub] == truth[sub]).mean()))
            line += (
                f"; fine-tune {accuracy['finetune'][-1]:.3f} on {len(sub)} of them "
                f"({seconds['finetune'][-1]:.0f} s)"
            )
        print(line + "".join(f"  {m} {accuracy[m][k - 1]:.3f}" for m in pooled), flush=True)
    out = {
        mode: {
            "accuracy": float((pooled[mode] == truth).mean()),
            "folds": accuracy[mode],
            "macro_f1": float(f1_score(truth, pooled[mode].astype(str), average="macro")),
            "train_s": statistics.median(seconds[mode]),
        }
        for mode in pooled
    }
    print(
        f"\n{'5-fold topic accuracy':<24}{'pooled':>8}{'folds':>14}{'macro F1':>10}{'train s':>9}"
    )
    for mode, r in out.items():
        span = f"{min(r['folds']):.3f}-{max(r['folds']):.3f}"
        print(
            f"{mode:<24}{r['accuracy']:>8.3f}{span:>14}{r['macro_f1']:>10.3f}{r['train_s']:>9.1f}"
        )
    if sample:
        out["finetune_rows"] = {
            "finetune": float(np.mean(accuracy["finetune"])),
            "folds": accuracy["finetune"],
            "train_s": statistics.median(seconds["finetune"]),
            **{mode: float(np.mean(v)) for mode, v in sample.items()},
        }
        f = out["finetune_rows"]
        print(
            f"on fine-tune's test rows ({args.finetune_epochs} epoch, {args.finetune_per_topic} "
            f"rows per topic, {len(f['folds'])} folds): finetune {f['finetune']:.3f}, fast "
            f"{f['fast']:.3f}, instant {f['instant']:.3f}; fine-tune train {f['train_s']:.0f} s"
        )
    return out


def run_crosslingual(rows: pd.DataFrame, args, temp: Path) -> tuple[dict, dict[str, Path]]:
    english, others = rows[rows["language"] == PIVOT], rows[rows["language"] != PIVOT]
    sizes = others.groupby("language").agg(rows=("text", "size"), topics=("topic", "nunique"))
    packages, out = {}, {}
    for mode in ("fast", "instant"):
        packages[mode] = train_on(
            english["text"], english["topic"], temp / f"en-{mode}", args, mode
        )
        scorer = Scorer(packages[mode], args.device)
        accuracy = pd.Series(
            {
                lang: float((scorer.predict(part["text"]) == part["topic"]).mean())
                for lang, part in others.groupby("language")
            }
        )
        out[mode] = {
            "mean": float(accuracy.mean()),
            "pooled": float(np.average(accuracy, weights=sizes["rows"][accuracy.index])),
            "mean_5_topics": float(accuracy[sizes["topics"] >= 5].mean()),
            "languages": accuracy.to_dict(),
        }
    print(f"\nTrained on {len(english)} English rows; accuracy per language (rows, topics):")
    for language in sizes.sort_values("rows", ascending=False).index:
        print(
            f"  {language:<20}{sizes.loc[language, 'rows']:>5}{sizes.loc[language, 'topics']:>3}"
            f"   fast {out['fast']['languages'][language]:.3f}"
            f"   instant {out['instant']['languages'][language]:.3f}"
        )
    for mode in ("fast", "instant"):
        print(
            f"  {mode:<8} mean over {len(sizes)} languages {out[mode]['mean']:.3f}, over rows "
            f"{out[mode]['pooled']:.3f}, over the {int((sizes['topics'] >= 5).sum())} "
            f"languages with 5+ topics {out[mode]['mean_5_topics']:.3f}"
        )
    print(f"  {'PASS' if out['fast']['mean'] >= 0.65 else 'MISS'}  fast mean accuracy >= 0.65")
    return out, packages


def run_throughput(rows: pd.DataFrame, packages: dict[str, Path], args) -> dict:
    import torch
    from text_embed import plain_encode
    from transformers import AutoModel, AutoTokenizer

    from engine.models.backbones.e5 import e5_folder
    from engine.models.text_features import TextEncoder

    unique = sorted(set(rows["text"]))
    order = np.random.default_rng(args.seed).permutation(len(unique))[: args.texts]
    texts, folder = [unique[i] for i in order], e5_folder()
    batch, device = args.batch_size, args.device
    encoder = TextEncoder(folder, device)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()
    fast, instant = Scorer(packages["fast"], device), Scorer(packages["instant"], device)
    weight, bias = fast.head()

    def plain_classify(items):
        vectors = torch.from_numpy(plain_encode(tokenizer, model, items, batch, device))
        return torch.softmax(vectors @ weight.T + bias, dim=1).numpy()

    runs = {
        "embed taxon": lambda items: encoder.encode(items, batch_size=batch),
        "embed plain": lambda items: plain_encode(tokenizer, model, items, batch, device),
        "classify taxon": fast.classifier.predict_texts,
        "classify plain": plain_classify,
        "classify instant": instant.classifier.predict_texts,
    }
    for run in runs.values():
        run(texts[:batch])  # warm-up
    rates, results = defaultdict(list), {}
    for _ in range(args.repeats):  # back to back, so a busy moment hits both alike
        for name, run in runs.items():
            start = time.perf_counter()
            results[name] = run(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    out = {name: statistics.median(v) for name, v in rates.items()}
    out["cosine"] = float((results["embed taxon"] * results["embed plain"]).sum(1).min())
    out["gap"] = float(np.abs(results["classify taxon"] - results["classify plain"]).max())
    tokens = [len(ids) for ids in encoder.tokenize(texts)]
    print(
        f"\n{len(texts)} distinct corpus lines, tokens per text: median "
        f"{statistics.median(tokens):.0f}, max {max(tokens)}; batch {batch}; "
        f"torch {torch.get_num_threads()} threads"
    )
    print(f"{f'median of {args.repeats}, texts/s':<26}{'plain':>9}{'taxon':>9}{'ratio':>8}")
    for kind in ("embed", "classify"):
        plain, taxon = out[f"{kind} plain"], out[f"{kind} taxon"]
        out[f"{kind} ratio"] = taxon / plain
        print(
            f"{kind:<26}{plain:>9.1f}{taxon:>9.1f}{taxon / plain:>7.2f}x"
            f"   {'PASS' if taxon >= plain else 'MISS'} >= 1.0x"
        )
    print(f"classify, instant model {out['classify instant']:>19.1f}")
    print(
        f"lowest cosine taxon/plain {out['cosine']:.6f}; largest probability gap "
        f"{out['gap']:.1e}; ONNX Runtime: not used for text"
    )
    return out


def generate_rows(rows: pd.DataFrame, count: int, seed: int) -> tuple[list[str], list[str]]:
    """1-3 random lines of one file (a language and a topic) joined, with 0-3 words drawn
    from the whole corpus inserted at random places; labelled with the file's topic."""
    rng = np.random.default_rng(seed)
    files = list(rows.groupby(["language", "topic"]).indices.items())
    lines = rows["text"].to_numpy()
    words = sorted({word for text in lines for word in text.split()})
    texts, labels = [], []
    for pick in rng.integers(0, len(files), count):
        (_language, topic), members = files[pick]
        tokens = " ".join(lines[rng.choice(members, rng.integers(1, 4))]).split()
        for _ in range(rng.integers(0, 4)):
            tokens.insert(int(rng.integers(0, len(tokens) + 1)), words[rng.integers(len(words))])
        texts.append(" ".join(tokens))
        labels.append(topic)
    return texts, labels


def run_scale(rows: pd.DataFrame, args, temp: Path) -> dict:
    from engine.models.package import load_package

    start = time.perf_counter()
    texts, labels = generate_rows(rows, args.scale_rows, args.seed)
    generated, seconds = time.perf_counter() - start, []
    for r in range(args.scale_repeats):
        start = time.perf_counter()
        package = train_on(texts, labels, temp / f"scale-{r}", args, "instant")
        seconds.append(time.perf_counter() - start)
    manifest = load_package(package).manifest
    out = {
        "rows": len(texts),
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "epochs": manifest["training"]["epochs_run"],
        "generate_s": generated,
        "validation_accuracy": manifest["metrics"]["accuracy"],
    }
    print(
        f"\nInstant mode on {len(texts):,} generated rows ({generated:.1f} s to generate): "
        f"median {out['median_s']:.1f} s (runs: {', '.join(f'{s:.1f}' for s in seconds)}; "
        f"{len(texts) / out['median_s']:,.0f} rows/s), {out['epochs']} epochs, "
        f"validation accuracy {out['validation_accuracy']:.3f}"
    )
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 corpus rows, less of all")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--skip-finetune", action="store_true")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-languages", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    for name, (full, quick) in SIZES.items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=int, help=f"default {full:,} (quick {quick:,})"
        )
    args = parser.parse_args()
    for name, (full, quick) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    if set(args.sections) - set(SECTIONS):
        parser.error(f"sections are {', '.join(SECTIONS)}")
    return args


def main() -> int:
    args = parse_args()
    if args.threads:  # before torch loads; the trainers keep OMP_NUM_THREADS
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory(prefix="taxon-bench-textcls-") as temp_name:
        temp = Path(temp_name)
        os.environ.setdefault("TAXON_HOME", str(temp / "home"))
        import torch

        from engine.models.text_features import text_features

        if args.threads:
            torch.set_num_threads(args.threads)
        rows = corpus_rows(read_corpus(), args.min_languages)
        if args.quick:
            rows = rows.sample(n=min(2000, len(rows)), random_state=args.seed)
            rows = rows.reset_index(drop=True)
        counts = ", ".join(f"{t} {n}" for t, n in rows["topic"].value_counts().items())
        print(
            f"chatterbot-corpus: {len(rows)} lines, {rows['language'].nunique()} languages; "
            f"topics (rows): {counts}"
        )
        start = time.perf_counter()
        vectors = text_features(rows["text"].tolist(), ticker("e5"), device=args.device)
        took, distinct = time.perf_counter() - start, rows["text"].nunique()
        print(
            f"e5 vectors of {distinct} distinct lines (grouping; cached for the fast mode): "
            f"{took:.0f} s, {distinct / took:.1f} texts/s"
        )
        groups, found = translation_groups(rows, vectors)
        print(
            f"groups: {found['groups']} (largest {found['largest']} rows); rows grouped with "
            f"a line of another language: {found['multilingual']} "
            f"({found['multilingual_by_layout']} by file layout alone)"
        )
        results: dict = {
            "rows": len(rows),
            "groups": found,
            "embed_all_s": took,
            "settings": {k: str(v) for k, v in vars(args).items()},
        }
        if "folds" in args.sections:
            results["folds"] = run_folds(rows, groups, args, temp)
        if "crosslingual" in args.sections or "throughput" in args.sections:
            results["crosslingual"], packages = run_crosslingual(rows, args, temp)
        if "throughput" in args.sections:
            results["throughput"] = run_throughput(rows, packages, args)
        if "scale" in args.sections:
            results["scale"] = run_scale(rows, args, temp)
    print(
        f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 1 if results.get("throughput", {}).get("cosine", 1.0) < 0.9999 else 0


if __name__ == "__main__":
    sys.exit(main())
