"""Benchmark: huge folders. Does ``classify`` stay flat in memory, stream, and resume?

Run ``python bench/scale.py`` (100,000 images; ``--quick`` for 2,000/5,000,
``--sizes 10000`` to choose). Small 320x240 JPEGs with varied content (gradients,
noise, shapes) are generated once into ``<cache>/bench-scale/`` (or ``--folder``)
and reused. Every run is a subprocess (``python main.py classify``), measured from
outside:

- images/s and peak RSS of ``classify --output`` (the process and its decode
  workers, polled from /proc every 50 ms) at each size: flat RSS is the target;
- time to first result (first JSON line on stdout), target <= 2 s after the
  model is loaded (the built-in ONNX export is cached before timing);
- resume: SIGKILL at ~50%, then ``--resume``: each input must appear exactly once;
- ``inspect`` time and peak RSS on the same folders.

Prints one line per measurement and a per-image cost to compare with
``bench/classify.py``'s 200-photo run.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(folder: Path, count: int) -> Path:
    """``count`` JPEGs in sub-folders of 1,000, made once (cheap numpy content)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:240, 0:320].astype(np.float32)
    made = 0
    for index in range(count):
        path = folder / f"set{index // 1000:03d}" / f"img_{index:06d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        a, b, c = rng.random(3) * 2 - 1
        base = (a * x + b * y + c * 200) % 256
        pixels = np.stack([base, np.roll(base, 40, 1), 255 - base], axis=2)
        pixels += rng.normal(0, 12, pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _shape in range(3):
            x0, y0 = rng.integers(0, 280), rng.integers(0, 200)
            box = (x0, y0, x0 + rng.integers(10, 120), y0 + rng.integers(10, 100))
            colour = tuple(int(v) for v in rng.integers(0, 255, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        image.save(path, quality=85)
        made += 1
    if made:
        print(f"generated {made} images in {folder}", file=sys.stderr)
    return folder


def subset(folder: Path, count: int, links: Path) -> Path:
    """A folder whose class sub-folders are symlinks to the first ``count // 1000`` sets of
    1,000 images: one image cache serves every size, and folder links cost the walk
    nothing (file links would be remembered as possible duplicates)."""
    target = links / f"n{count}"
    if not target.exists():
        target.mkdir(parents=True)
        for index in range(max(1, count // 1000)):
            (target / f"set{index:03d}").symlink_to(folder / f"set{index:03d}")
    return target


def _tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def run_measured(
    args: list[str], kill_after_lines: int | None = None, out: Path | None = None
) -> dict:
    """Run ``main.py args``; wall time, peak tree RSS, time to first stdout line."""
    command = [sys.executable, str(ROOT / "main.py"), *args, "--lang", "en"]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    os.set_blocking(process.stdout.fileno(), False)
    peak, first, lines = 0, None, 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        chunk = process.stdout.read() or b""
        if chunk and first is None:
            first = time.monotonic() - started
        lines += chunk.count(b"\n")
        if kill_after_lines is not None and out is not None and out.exists():
            if out.read_bytes().count(b"\n") >= kill_after_lines:
                process.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    lines += (process.stdout.read() or b"").count(b"\n")
    return {
        "seconds": time.monotonic() - started,
        "peak_mb": peak / 2**20,
        "first_s": first,
        "lines": lines,
        "rc": process.returncode,
    }


def bench_classify(folder: Path, count: int, work: Path) -> float:
    out = work / f"classify-{count}.jsonl"
    out.unlink(missing_ok=True)
    result = run_measured(["classify", str(folder), "--json", "--output", str(out)])
    rate = count / result["seconds"]
    print(
        f"classify {count:>7} files: {result['seconds']:7.1f} s  {rate:6.1f} img/s  "
        f"peak RSS {result['peak_mb']:6.0f} MB  first result {result['first_s']:.2f} s  "
        f"({1000 / rate:.1f} ms/image)"
    )
    return result["seconds"] / count


def bench_resume(folder: Path, count: int, work: Path) -> None:
    out = work / f"resume-{count}.jsonl"
    out.unlink(missing_ok=True)
    run_measured(
        ["classify", str(folder), "--output", str(out)], kill_after_lines=count // 2, out=out
    )
    before = out.read_bytes().count(b"\n")
    run_measured(["classify", str(folder), "--output", str(out), "--resume"])
    inputs = [json.loads(line)["input"] for line in out.read_text(encoding="utf-8").splitlines()]
    expected = {str(path) for path in folder.glob("*/*.jpg")}
    twice = len(inputs) - len(set(inputs))
    missed = len(expected - set(inputs))
    print(
        f"resume  {count:>7} files: killed at {before} ({100 * before / count:.0f}%), "
        f"after --resume {len(inputs)} lines, classified twice {twice}, missed {missed}"
    )


def bench_inspect(folder: Path, count: int) -> None:
    result = run_measured(["inspect", str(folder), "--json"])  # each set is a class
    print(
        f"inspect {count:>7} files: {result['seconds']:7.1f} s  "
        f"{count / result['seconds']:6.1f} files/s  peak RSS {result['peak_mb']:6.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 5,000 files")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(v) for v in text.split(",")],
        help="comma-separated folder sizes, multiples of 1,000 (default 10000,50000,100000)",
    )
    parser.add_argument("--folder", type=Path, help="where the generated images live")
    parser.add_argument("--skip-inspect", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes or ([2000, 5000] if args.quick else [10_000, 50_000, 100_000])
    from engine.core.paths import user_cache_dir

    folder = args.folder or user_cache_dir() / "bench-scale"
    generate(folder, max(sizes))
    work = Path(tempfile.mkdtemp(prefix="taxon-scale-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, images in {folder}")
    run_measured(
        ["classify", str(folder / "set000" / "img_000000.jpg")]
    )  # the ONNX export is cached before anything is timed
    costs = {}
    for count in sizes:
        costs[count] = bench_classify(subset(folder, count, work / "links"), count, work)
    smallest = min(sizes)
    for count in sizes:
        print(
            f"per-image cost at {count}: {costs[count] / costs[smallest]:.2f}x that at {smallest}"
        )
    bench_resume(subset(folder, smallest, work / "links"), smallest, work)
    if not args.skip_inspect:
        for count in (sizes[0], sizes[-1]):
            bench_inspect(subset(folder, count, work / "links"), count)


if __name__ == "__main__":
    main()
