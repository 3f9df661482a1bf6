"""Benchmark: how fast and how well does Taxon train image models?

Run ``python bench/train.py`` (``--quick`` for a smoke run; ``--parts`` picks
some of ``throughput,fast,accuracy``). Three measurements, each against a
reference where there is one:

- **throughput** — fine-tuning images/s of Taxon's trainer (``run_loop`` with
  a ``LoopSpec`` fed in-memory tensors, so decoding is not measured) beside a
  minimal hand-written timm loop (``zero_grad``, forward, cross-entropy,
  ``backward``, AdamW ``step``): the same network, batch, precision and data,
  in one process, median over rounds. On the CPU the two alternate step by
  step (a shared machine's load then hits both alike); on a GPU they alternate
  by rounds of 40 steps, so that a loop that never waits for the GPU keeps that
  advantage. Every step counts, including the trainer's own work between steps.
  The ratio is the median of the paired (step or round) ratios: on a shared
  machine whole rounds swing 2x with the load, pairs much less. Target: Taxon
  >= 0.95x. On a GPU: ``--device cuda --precision bf16``.
- **fast** — fast mode from a 1,000-image folder (scikit-learn digits as
  64x64 PNGs, 100 per class) to a saved package, in a fresh process whose
  torch and onnxruntime are already imported (as in the app): *cold* (an empty
  TAXON_HOME, so the feature extractor is exported to ONNX and every feature
  computed), *warm* (a new process on the same TAXON_HOME: features cached)
  and *again* (a second run in the cold process).
- **accuracy** — held-out accuracy of fast-mode packages on real data shipped
  in packages, evaluated with ``evaluate_classifier(load_classifier(pkg), test)``
  on files never used in training: all 1,797 scikit-learn digits (80/20 split;
  target >= 0.90) and scikit-image's ``lfw_subset``, faces against non-faces,
  25x25 (5-fold, every picture held out once; target >= 0.95).
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PARTS = ("throughput", "fast", "accuracy")
TARGETS = {"throughput": 0.95, "digits": 0.90, "faces": 0.95}


# ---------------------------------------------------------------- data as files


def write_pictures(folder: Path, images: np.ndarray, names: list[str], size: int | None) -> None:
    """``folder/<name>/<n>.png`` from grey images in [0, 1] (ink dark on white for digits)."""
    for index, (image, name) in enumerate(zip(images, names, strict=True)):
        picture = Image.fromarray(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
        if size is not None:
            picture = picture.resize((size, size), Image.Resampling.BICUBIC)
        out = folder / name
        out.mkdir(parents=True, exist_ok=True)
        picture.save(out / f"{index:04d}.png")


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8x8 scans as [0, 1] grey images (white paper) and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return 1.0 - data.images / 16.0, data.target.astype(np.int64)


def faces() -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's ``lfw_subset``: 100 faces then 100 non-faces, 25x25 grey."""
    from skimage.data import lfw_subset

    images = lfw_subset()
    return images, np.array([0] * 100 + [1] * 100, dtype=np.int64)


# ---------------------------------------------------------------- throughput


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _pool(count: int, size: int, device):
    """``count`` digit pictures as normalised 3 x size x size tensors, and their labels."""
    import torch

    images, labels = digits()
    pixels = torch.from_numpy(images[:count].astype(np.float32))[:, None]
    pixels = torch.nn.functional.interpolate(pixels, size=(size, size), mode="bilinear")
    pixels = (pixels * 2.0 - 1.0).expand(-1, 3, -1, -1).contiguous()
    return pixels, torch.from_numpy(labels[:count])


def _gather(pool, rows, device):
    """One batch; pinned for a GPU, as Taxon's DataLoader (``pin_memory``) hands it over."""
    pixels, labels = pool[0][rows], pool[1][rows]
    if device.type == "cuda":
        pixels, labels = pixels.pin_memory(), labels.pin_memory()
    return pixels, labels


def taxon_round(
    model,
    pool,
    steps: int,
    batch: int,
    device,
    amp,
    channels_last: bool,
    seed: int,
    between: Callable[[], None] | None = None,
) -> tuple[list[float], float | None]:
    """Seconds of each step of one ``run_loop`` epoch, and the last rate the loop reported.

    A step is timed from the moment its batch is handed over until the loop asks
    for the next one, so the loop's own work between steps counts. ``between``
    runs (untimed here) before each batch is handed over: the hand loop's step,
    when the two are interleaved step by step.
    """
    import torch

    from engine.core.jobs import CancelToken, no_progress
    from engine.training.config import TrainConfig
    from engine.training.data import class_weights
    from engine.training.loop import LoopSpec, run_loop

    pixels, labels = pool
    train_y = labels.numpy()[np.arange(steps * batch) % len(labels)]
    seconds: list[float] = []

    def batches(split: str, order: list[int], batch_size: int, epoch: int):
        if split == "validation":  # one batch: validation is not what is measured
            yield pixels[:batch], labels[:batch]
            return
        mark = 0.0
        for start in range(0, len(order), batch_size):
            if start:
                seconds.append(time.perf_counter() - mark)
            if between is not None:
                between()
            if start == 0:
                _sync(device)
            mark = time.perf_counter()
            yield _gather(
                pool, torch.tensor(order[start : start + batch_size]) % len(labels), device
            )
        _sync(device)
        seconds.append(time.perf_counter() - mark)

    config = TrainConfig(mode="finetune", epochs=1, batch_size=batch, seed=seed).resolved("image")
    weights = torch.from_numpy(class_weights(train_y, 10)).to(device)
    spec = LoopSpec(
        model,
        list(model.parameters()),
        batches,
        train_y,
        labels.numpy()[:batch],
        10,
        device,
        weights,
        amp,
        channels_last=channels_last,
    )
    events = []
    run_loop(spec, config, None, no_progress, CancelToken(), on_event=events.append)
    reported = [e.items_per_s for e in events if e.kind == "step" and e.items_per_s]
    return seconds, reported[-1] if reported else None


class HandLoop:
    """The loop a timm user writes by hand: forward, cross-entropy, backward, AdamW step."""

    def __init__(self, model, pool, batch: int, device, amp, channels_last: bool) -> None:
        import torch

        self.model, self.pool, self.batch, self.device = model, pool, batch, device
        self.amp, self.channels_last = amp, channels_last
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
        self.loss = torch.nn.CrossEntropyLoss()
        self.generator = torch.Generator().manual_seed(0)

    def run(self, steps: int) -> list[float]:
        """Seconds of each step (a GPU is synchronised at the start and the end only)."""
        import torch

        order = torch.randperm(steps * self.batch, generator=self.generator) % len(self.pool[1])
        self.model.train()
        _sync(self.device)
        seconds, mark = [], time.perf_counter()
        for step in range(steps):
            inputs, targets = _gather(
                self.pool, order[step * self.batch : (step + 1) * self.batch], self.device
            )
            inputs = inputs.to(self.device, non_blocking=True)
            if self.channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            targets = targets.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
                logits = self.model(inputs)
            self.loss(logits.float(), targets).backward()
            self.optimizer.step()
            if step == steps - 1:
                _sync(self.device)
            now = time.perf_counter()
            seconds.append(now - mark)
            mark = now
        return seconds


def throughput(args: argparse.Namespace) -> dict:
    """Alternating rounds (GPU) or interleaved steps (CPU) of both loops; medians."""
    import torch

    from engine.core.devices import configure_cpu_threads
    from engine.models.image_package import new_network

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    configure_cpu_threads()
    batch = args.batch or (32 if cuda else 8)
    steps = args.steps or (40 if cuda else (2 if args.quick else 4))
    rounds = args.rounds or (5 if cuda else 2 if args.quick else 3)
    interleave = args.interleave or ("round" if cuda else "step")
    warmup = 10 if cuda else 1
    amp = torch.bfloat16 if args.precision == "bf16" else None
    channels_last = cuda  # as Taxon's fine-tune does; the hand loop does the same
    pool = _pool(256, args.size, device)
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        model = new_network(10).to(device)
        models.append(model.to(memory_format=torch.channels_last) if channels_last else model)
    hand = HandLoop(models[1], pool, batch, device, amp, channels_last)
    print(
        f"Throughput: {args.device}, {args.precision}, batch {batch}, {args.size}x{args.size}, "
        f"{rounds} rounds of {steps} steps, interleaved by {interleave} "
        f"(+{warmup} warm-up steps each)",
        flush=True,
    )
    taxon_round(models[0], pool, warmup, batch, device, amp, channels_last, 99)
    hand.run(warmup)
    rates: dict[str, list[float]] = {"taxon": [], "hand": [], "reported": []}
    pairs: list[float] = []
    for index in range(rounds):
        hand_seconds: list[float] = []
        if interleave == "step":
            seconds, reported = taxon_round(
                models[0],
                pool,
                steps,
                batch,
                device,
                amp,
                channels_last,
                index,
                between=lambda done=hand_seconds: done.extend(hand.run(1)),
            )
            pairs += [h / t for h, t in zip(hand_seconds, seconds, strict=True)]
        elif index % 2 == 0:
            seconds, reported = taxon_round(
                models[0], pool, steps, batch, device, amp, channels_last, index
            )
            hand_seconds = hand.run(steps)
        else:
            hand_seconds = hand.run(steps)
            seconds, reported = taxon_round(
                models[0], pool, steps, batch, device, amp, channels_last, index
            )
        rates["taxon"].append(steps * batch / sum(seconds))
        rates["hand"].append(steps * batch / sum(hand_seconds))
        rates["reported"].append(reported or float("nan"))
        print(
            f"  round {index + 1}: taxon {rates['taxon'][-1]:.2f} img/s, "
            f"hand {rates['hand'][-1]:.2f} img/s",
            flush=True,
        )
    taxon, hand_rate = statistics.median(rates["taxon"]), statistics.median(rates["hand"])
    if not pairs:
        pairs = [t / h for t, h in zip(rates["taxon"], rates["hand"], strict=True)]
    return {
        "device": args.device,
        "precision": args.precision,
        "batch": batch,
        "steps": steps,
        "rounds": rounds,
        "size": args.size,
        "interleave": interleave,
        "taxon": taxon,
        "hand": hand_rate,
        "ratio": taxon / hand_rate,
        "paired_median": statistics.median(pairs),
        "pairs": pairs,
        "rates": rates,
    }


# ---------------------------------------------------------------- fast mode, from a folder


def fast_child(folder: str, out: str) -> None:
    """In a fresh process: folder -> package twice; prints one JSON line."""
    started = time.perf_counter()
    import onnxruntime  # noqa: F401 - the app has these loaded before the user trains
    import torch  # noqa: F401

    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train

    imported = time.perf_counter()
    times, metrics = [], []
    for run in ("first", "again"):
        start = time.perf_counter()
        result = train(load_dataset(folder), Path(out) / run, TrainConfig(mode="fast", seed=0))
        times.append(time.perf_counter() - start)
        metrics.append(result.metrics["accuracy"])
    print(
        json.dumps(
            {
                "imports_s": imported - started,
                "first_s": times[0],
                "again_s": times[1],
                "val_accuracy": metrics[0],
            }
        )
    )


def _run_child(folder: Path, out: Path, home: Path) -> dict:
    env = dict(os.environ, TAXON_HOME=str(home))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child-fast", str(folder), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fast-mode child failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def fast_mode(args: argparse.Namespace, temp: Path) -> dict:
    images, labels = digits()
    keep = np.concatenate([np.flatnonzero(labels == digit)[:100] for digit in range(10)])
    folder = temp / "digits-1000"
    write_pictures(folder, images[keep], [str(v) for v in labels[keep]], 64)
    rounds = args.fast_rounds or (1 if args.quick else 3)
    print(f"Fast mode: 1,000 digits (64x64 PNG) -> package, {rounds} rounds", flush=True)
    runs: dict[str, list[float]] = {
        "cold": [],
        "warm": [],
        "again": [],
        "cold_process": [],
        "warm_process": [],
        "imports": [],
    }
    for index in range(rounds):
        home = temp / f"home-fast-{index}"
        cold = _run_child(folder, temp / f"fast-{index}-cold", home)
        warm = _run_child(folder, temp / f"fast-{index}-warm", home)
        runs["cold"].append(cold["first_s"])
        runs["again"].append(cold["again_s"])
        runs["warm"].append(warm["first_s"])
        runs["cold_process"].append(cold["process_s"] - cold["again_s"])
        runs["warm_process"].append(warm["process_s"] - warm["again_s"])
        runs["imports"].append(cold["imports_s"])
        print(
            f"  round {index + 1}: cold {cold['first_s']:.1f} s, warm {warm['first_s']:.1f} s, "
            f"again {cold['again_s']:.1f} s (validation accuracy "
            f"{cold['val_accuracy']:.3f})",
            flush=True,
        )
    medians = {name: statistics.median(values) for name, values in runs.items()}
    medians["cold_over_warm"] = medians["cold"] / medians["warm"]
    return {"rounds": rounds, "median_s": medians, "runs": runs}


# ---------------------------------------------------------------- accuracy on held-out files


def _fit_and_score(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    train: np.ndarray,
    test: np.ndarray,
    size: int | None,
    temp: Path,
):
    """Write the split as folders, train in fast mode, evaluate the package on the test files."""
    from engine.data.dataset_io import load_dataset
    from engine.models.evaluation import evaluate_classifier
    from engine.models.loading import load_classifier
    from engine.training import TrainConfig
    from engine.training import train as train_model

    label_names = [names[v] for v in labels]
    write_pictures(temp / f"{name}-train", images[train], [label_names[i] for i in train], size)
    write_pictures(temp / f"{name}-test", images[test], [label_names[i] for i in test], size)
    result = train_model(
        load_dataset(temp / f"{name}-train"),
        temp / f"{name}-model",
        TrainConfig(mode="fast", seed=0),
    )
    classifier = load_classifier(result.package)
    try:
        evaluation = evaluate_classifier(classifier, load_dataset(temp / f"{name}-test"))
    finally:
        classifier.close()
    assert not evaluation.skipped, evaluation.skipped[:3]
    return evaluation


def accuracy(args: argparse.Namespace, temp: Path) -> dict:
    from sklearn.model_selection import StratifiedKFold, train_test_split

    out: dict[str, dict] = {}
    images, labels = digits()
    start = time.perf_counter()
    train, test = train_test_split(
        np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=0
    )
    evaluation = _fit_and_score(
        "digits", images, labels, [str(v) for v in range(10)], train, test, 64, temp
    )
    out["digits"] = {
        "accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "train_files": len(train),
        "test_files": len(evaluation),
        "seconds": time.perf_counter() - start,
    }
    print(
        f"Digits: held-out accuracy {evaluation.accuracy:.4f} on {len(evaluation)} files "
        f"({out['digits']['seconds']:.0f} s)",
        flush=True,
    )

    images, labels = faces()
    start = time.perf_counter()
    folds = 2 if args.quick else 5
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    right, scores = 0, []
    for fold, (train, test) in enumerate(splitter.split(images, labels)):
        evaluation = _fit_and_score(
            f"faces-{fold}", images, labels, ["face", "non_face"], train, test, None, temp
        )
        right += int(evaluation.correct.sum())
        scores.append(evaluation.accuracy)
        print(
            f"  faces fold {fold + 1}/{folds}: {evaluation.accuracy:.3f} on {len(evaluation)}",
            flush=True,
        )
    out["faces"] = {
        "accuracy": right / len(labels),
        "folds": scores,
        "held_out": len(labels),
        "seconds": time.perf_counter() - start,
    }
    print(
        f"Faces: held-out accuracy {right / len(labels):.4f} over {folds} folds "
        f"({out['faces']['seconds']:.0f} s)",
        flush=True,
    )
    return out


# ---------------------------------------------------------------- main


def _verdict(value: float, target: float) -> str:
    return "pass" if value >= target else "MISS"


def report(results: dict) -> None:
    print("\n== Results ==")
    if "throughput" in results:
        t = results["throughput"]
        print(
            f"fine-tune img/s (median of {t['rounds']} rounds): taxon {t['taxon']:.2f}, "
            f"hand loop {t['hand']:.2f} ({t['ratio']:.3f}x); taxon / hand, median of "
            f"{len(t['pairs'])} paired {t['interleave']}s: {t['paired_median']:.3f}x "
            f"(target >= {TARGETS['throughput']}x: "
            f"{_verdict(t['paired_median'], TARGETS['throughput'])})"
        )
    if "fast" in results:
        m = results["fast"]["median_s"]
        print(
            f"fast mode, 1,000 images -> package (median of {results['fast']['rounds']}): "
            f"cold {m['cold']:.1f} s, warm {m['warm']:.1f} s "
            f"(cold/warm {m['cold_over_warm']:.1f}x),"
            f" again in the same process {m['again']:.1f} s; whole process cold "
            f"{m['cold_process']:.1f} s / warm {m['warm_process']:.1f} s"
        )
    if "accuracy" in results:
        for name in ("digits", "faces"):
            value = results["accuracy"][name]["accuracy"]
            print(
                f"{name}: held-out accuracy {value:.4f} (target >= {TARGETS[name]}: "
                f"{_verdict(value, TARGETS[name])})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, steps and folds")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS)
    )
    parser.add_argument("--device", default="cpu", help="throughput device: cpu or cuda")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--batch", type=int, help="throughput batch (default 8 CPU, 32 CUDA)")
    parser.add_argument("--steps", type=int, help="timed steps per round")
    parser.add_argument("--rounds", type=int, help="throughput rounds (CPU 3, quick 2; GPU 5)")
    parser.add_argument(
        "--interleave",
        choices=("step", "round"),
        help="alternate the loops by step (CPU default) or by round (GPU default)",
    )
    parser.add_argument("--size", type=int, default=224, help="throughput picture side")
    parser.add_argument("--fast-rounds", type=int, help="fast-mode rounds (default 3, quick 1)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child-fast", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_fast:
        fast_child(*args.child_fast)
        return 0
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    import torch

    print(
        f"{platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs"
        + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""),
        flush=True,
    )
    results: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="taxon-bench-train-") as folder:
        temp = Path(folder)
        os.environ.setdefault("TAXON_HOME", str(temp / "home"))
        if "throughput" in parts:
            results["throughput"] = throughput(args)
        if "fast" in parts:
            results["fast"] = fast_mode(args, temp)
        if "accuracy" in parts:
            results["accuracy"] = accuracy(args, temp)
    results["total_s"] = time.perf_counter() - started
    report(results)
    print(f"(total {results['total_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
