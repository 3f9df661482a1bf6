"""Benchmark: how fast does Taxon embed texts, against plain transformers?

Run ``python bench/text_embed.py`` (``--quick`` for a smoke run, ``--device
cuda`` on a GPU). It converts the built-in multilingual-e5-small (under a
temporary ``TAXON_HOME`` unless one is set), builds a deterministic set of
multilingual texts with a realistic spread of lengths (mostly a sentence or
two, a few long reviews) and measures, in the same process, alternating, the
median of 3 rounds:

- taxon: ``engine.models.text_features.TextEncoder.encode`` (sorted into batches by
  token count, inference mode)
- plain: ``AutoTokenizer`` + ``AutoModel`` on the same folder, batches in input
  order padded to their longest text, ``torch.no_grad``, mean pooling

Both use the same batch size and produce the same vectors (checked). Target:
taxon >= 1.0x plain.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SENTENCES = [
    "The delivery was fast and the product works well.",
    "产品质量很好，物流也很快。",
    "配送が遅くて残念でした。",
    "الخدمة ممتازة وسأشتري مرة أخرى.",
    "Доставка быстрая, всё отлично.",
    "배송이 빠르고 좋아요.",
    "Très bon produit, je recommande.",
    "Das Gerät ist leider kaputt angekommen.",
    "Servicio terrible, no lo recomiendo.",
    "बहुत अच्छा उत्पाद है, मैं फिर से खरीदूंगा।",
    "Ürün beklediğimden çok daha iyi çıktı.",
]


def make_texts(count: int, seed: int = 7) -> list[str]:
    """Mostly one to three sentences; one text in twenty is a long review (20-60)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        sentences = rng.randint(20, 60) if rng.random() < 0.05 else rng.randint(1, 3)
        texts.append(" ".join(rng.choice(SENTENCES) for _ in range(sentences)))
    return texts


def plain_encode(tokenizer, model, texts: list[str], batch_size: int, device) -> np.ndarray:
    """What a transformers user writes from the e5 model card."""
    import torch

    out = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            [f"query: {t}" for t in texts[start : start + batch_size]],
            padding=True,
            truncation=True,
            max_length=512,
            return_tensors="pt",
        ).to(device)
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
    return np.concatenate(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer texts")
    parser.add_argument("--texts", type=int, help="number of texts (default 256, quick 48)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    args = parser.parse_args()
    count = args.texts or (48 if args.quick else 256)

    with tempfile.TemporaryDirectory(prefix="taxon-bench-text-") as temp:
        os.environ.setdefault("TAXON_HOME", str(Path(temp) / "home"))
        import torch
        from transformers import AutoModel, AutoTokenizer

        from engine.models.backbones.e5 import e5_folder
        from engine.models.text_features import TextEncoder

        start = time.perf_counter()
        folder = e5_folder()
        print(f"Model folder (converted on first use): {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        encoder = TextEncoder(folder, args.device)
        print(f"TextEncoder load: {time.perf_counter() - start:.1f} s on {encoder.device}")
        device = encoder.device
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()

        texts = make_texts(count)
        tokens = [len(ids) for ids in encoder.tokenize(texts)]
        print(
            f"{count} texts, tokens per text: median {statistics.median(tokens):.0f}, "
            f"max {max(tokens)}, batch size {args.batch_size}"
        )

        warm = texts[: args.batch_size]
        encoder.encode(warm, batch_size=args.batch_size)
        plain_encode(tokenizer, model, warm, args.batch_size, device)
        rates: dict[str, list[float]] = {"plain": [], "taxon": []}
        for _ in range(args.repeats):  # back to back, so a busy moment hits both alike
            start = time.perf_counter()
            ours = encoder.encode(texts, batch_size=args.batch_size)
            rates["taxon"].append(count / (time.perf_counter() - start))
            start = time.perf_counter()
            theirs = plain_encode(tokenizer, model, texts, args.batch_size, device)
            rates["plain"].append(count / (time.perf_counter() - start))
        agreement = float((ours * theirs).sum(axis=1).min())

    print()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    plain, taxon = statistics.median(rates["plain"]), statistics.median(rates["taxon"])
    print(f"{'median of ' + str(args.repeats):<20}{'plain':>10}{'taxon':>10}{'ratio':>9}")
    print(f"{'texts/s':<20}{plain:>10.1f}{taxon:>10.1f}{taxon / plain:>8.2f}x")
    print(f"lowest cosine between the two: {agreement:.6f}")
    print(f"  {'PASS' if taxon / plain >= 1.0 else 'MISS'}  taxon >= 1.0x plain")
    return 0 if agreement > 0.9999 else 1


if __name__ == "__main__":
    sys.exit(main())
