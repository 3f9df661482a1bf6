"""Benchmark: how fast does Taxon open a big CSV, against bare pandas?

Run ``python bench/tables.py [--rows N]`` (default 1,000,000 rows). It writes a
multilingual CSV (id, text, label; ~60 MB for a million rows, one text in ten
quoted with a comma inside) into a temporary folder and times, median of 3:

- taxon:          ``engine.data.tables.table_io.read_table`` (detects encoding and delimiter,
                  validates UTF-8, all columns as text, line numbers)
- pandas-c:       ``pd.read_csv(path, dtype=str, keep_default_na=False)``, C engine
- pandas-pyarrow: the same with ``engine="pyarrow"``

and the same file saved as GB18030, where Taxon transcodes to UTF-8 first
(taxon) against pandas' C engine decoding it (pandas-c). Target: a million UTF-8
rows in about a second.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.data.tables.table_io import read_table  # noqa: E402

PHRASES = [
    "The delivery was fast and the product works well",
    "产品质量很好，物流也很快",
    "配送が遅くて残念でした",
    "الخدمة ممتازة وسأشتري مرة أخرى",
    "Доставка быстрая, всё отлично",
    "배송이 빠르고 좋아요",
    "Très bon produit, je recommande",
    "Das Gerät ist leider kaputt angekommen",
    "Servicio terrible, no lo recomiendo",
]
LABELS = ["positive", "negative", "neutral", "spam", "question"]


def write_csv(path: Path, rows: int, encoding: str) -> None:
    rng = random.Random(1)
    lines = ["id,text,label"]
    for i in range(rows):
        text = f"{rng.choice(PHRASES)} {rng.randint(0, 9999)}"
        if "," in text or rng.random() < 0.1:
            text = f'"{text}, ok"'
        lines.append(f"{i},{text},{rng.choice(LABELS)}")
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, pandas {pd.__version__}, "
        f"{platform.machine()}, {args.rows:,} rows, median of {args.repeats}"
    )
    with tempfile.TemporaryDirectory(prefix="taxon-bench-tables-") as folder:
        results = []
        for encoding in ("utf-8", "gb18030"):
            path = Path(folder) / f"reviews-{encoding}.csv"
            write_csv(path, args.rows, encoding)
            size = path.stat().st_size / 1e6
            read = read_table(path)
            assert len(read.frame) == args.rows and read.encoding == encoding, read.encoding
            timings = {
                "taxon": median_time(lambda p=path: read_table(p), args.repeats),
                "pandas-c": median_time(
                    lambda p=path, e=encoding: pd.read_csv(
                        p, dtype=str, keep_default_na=False, encoding=e
                    ),
                    args.repeats,
                ),
            }
            if encoding == "utf-8":
                timings["pandas-pyarrow"] = median_time(
                    lambda p=path: pd.read_csv(
                        p, dtype=str, keep_default_na=False, engine="pyarrow"
                    ),
                    args.repeats,
                )
            for name, seconds in timings.items():
                ratio = seconds / timings["taxon"]
                results.append((encoding, f"{size:.0f} MB", name, seconds, ratio))
        print(f"{'file':<9} {'size':>6}  {'reader':<15} {'median s':>9} {'vs taxon':>9}")
        for encoding, size, name, seconds, ratio in results:
            print(f"{encoding:<9} {size:>6}  {name:<15} {seconds:9.3f} {ratio:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
