"""Benchmark: where does ``inspect``'s memory go on a big image folder?

``bench/scale.py`` shows that inspect's peak memory grows about 32 KB per image while
classify stays flat. This script splits that up: it runs the stages of an image
inspection in one process on ``bench/scale.py``'s generated JPEGs (``--count``,
default 5,000) and prints, per stage, the Python/numpy memory it keeps afterwards and
its peak while it runs (``tracemalloc``: what the checks allocate, not the ONNX
runtime's own arenas), per image, plus the process's RSS. The three biggest
allocation sites of the whole run follow.

Run ``python bench/inspect_memory.py --count 5000``; compare two counts to see what
scales with the folder.
"""

from __future__ import annotations

import argparse
import atexit
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")

from bench.scale import generate, subset  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="images (a multiple of 1,000)")
    parser.add_argument("--folder", type=Path, help="where the generated images live")
    args = parser.parse_args()
    from engine.core.paths import user_cache_dir

    folder = args.folder or user_cache_dir() / "bench-scale"  # shared with bench/scale.py
    # A fresh user folder: no remembered features or fingerprints from an earlier run.
    os.environ["TAXON_HOME"] = tempfile.mkdtemp(prefix="taxon-bench-home-")
    atexit.register(shutil.rmtree, os.environ["TAXON_HOME"], ignore_errors=True)
    from engine.cleaning import image_checks
    from engine.cleaning.image_facts import image_facts
    from engine.cleaning.run import LABEL_ERRORS, inspect_dataset
    from engine.data.dataset_io import load_image_folder
    from engine.models.image_features import image_features

    generate(folder, args.count)
    links = Path(tempfile.mkdtemp(prefix="taxon-bench-links-"))
    atexit.register(shutil.rmtree, links, ignore_errors=True)
    root = subset(folder, args.count, links)
    n = args.count
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {n} images")
    # Every stage once on 60 other files first: the libraries it imports and the models it
    # loads are a fixed cost, not memory per image.
    warm = links / "warm"
    for label, first in (("a", 0), ("b", 30)):
        (warm / label).mkdir(parents=True)
        for index in range(first, first + 30):
            source = folder / "set000" / f"img_{index:06d}.jpg"
            (warm / label / source.name).write_bytes(source.read_bytes())
    small = load_image_folder(warm)
    inspect_dataset(small, features=image_features(small.frame["item"].astype(str).tolist()))
    tracemalloc.start(12)
    kept: dict[str, object] = {}

    def stage(name: str, run) -> None:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        started = time.monotonic()
        kept[name] = run()
        current, peak = tracemalloc.get_traced_memory()
        print(
            f"{name:<28} kept {(current - before) / n / 1024:6.1f} KB/image  "
            f"peak {(peak - before) / n / 1024:6.1f} KB/image  "
            f"RSS {rss_mb():6.0f} MB  {time.monotonic() - started:6.1f} s"
        )

    stage("load folder", lambda: load_image_folder(root))
    dataset = kept["load folder"]
    stage("fingerprints (image_facts)", lambda: image_facts(dataset))
    paths = dataset.frame["item"].astype(str).tolist()
    stage("label-error features", lambda: image_features(paths))
    features = kept["label-error features"]
    for kind, check in image_checks.IMAGE_CHECK_LIST:
        stage(kind, lambda check=check: check(dataset))
    stage(
        "label errors", lambda: inspect_dataset(dataset, checks=[LABEL_ERRORS], features=features)
    )
    snapshot = tracemalloc.take_snapshot()
    print("biggest live allocation sites:")
    for stat in snapshot.statistics("traceback")[:3]:
        frame = stat.traceback[-1]
        print(f"  {stat.size / n / 1024:6.1f} KB/image  {frame.filename}:{frame.lineno}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak_rss:.0f} MB ({peak_rss * 1024 / n:.1f} KB/image)")


if __name__ == "__main__":
    main()
