"""Benchmark: the prediction service over loopback against classifying in-process.

Run ``python bench/serve.py`` (``--quick`` for a smoke run). In one run, on the
same small JPEGs (photo-like, 320x240, generated into a temporary folder):

- in-process: ``engine.models.inference.classify_images`` with the built-in model on
  all the files (decode workers + batches: the app's own throughput), and one
  file at a time for latency;
- service: ``python main.py serve builtin --port 0`` in a subprocess, and 1, 8
  and 32 client threads, each on its own keep-alive ``http.client`` connection,
  posting one image per request (raw ``image/jpeg`` body).

Prints requests/s (= images/s) and p50/p99 latency per row, and the ratio of
each to the in-process throughput. Target: >= 0.8x in-process at 32 clients.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = (320, 240)
CLIENTS = (1, 8, 32)


def make_images(folder: Path, count: int) -> list[Path]:
    from tests.helpers.synthetic import natural

    paths = []
    for seed in range(count):
        buffer = io.BytesIO()
        natural(seed, *SIZE).save(buffer, format="JPEG", quality=90)
        path = folder / f"img_{seed:04d}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def in_process(paths: list[Path], rounds: int) -> tuple[float, list[float]]:
    """Best images/s of ``rounds`` full passes, and per-image latencies one at a time."""
    from engine.core import workers
    from engine.models import inference, loading

    classifier = loading.load_classifier(None)
    try:
        inference.classify_images(classifier, paths[:4])  # start the decode workers
        best = 0.0
        for _ in range(rounds):
            start = time.perf_counter()
            results = inference.classify_images(classifier, paths)
            best = max(best, len(paths) / (time.perf_counter() - start))
            assert all(result.error is None for result in results)
        latencies = []
        for path in paths[:32]:
            start = time.perf_counter()
            inference.classify_images(classifier, [path])
            latencies.append(time.perf_counter() - start)
    finally:
        classifier.close()
        workers.close()
    return best, latencies


def start_service(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "serve", "builtin", "--port", "0", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        process.kill()
        raise SystemExit("the service did not start")
    url = json.loads(line)["url"]
    return process, int(url.rsplit(":", 1)[1])


def run_clients(
    port: int, bodies: list[bytes], clients: int, requests: int
) -> tuple[float, list[float]]:
    """``requests`` posts shared by ``clients`` threads: requests/s and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    failures: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        try:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    break
                start = time.perf_counter()
                connection.request(
                    "POST",
                    "/v1/classify?top_k=1",
                    bodies[index % len(bodies)],
                    {"Content-Type": "image/jpeg"},
                )
                response = connection.getresponse()
                payload = response.read()
                mine.append(time.perf_counter() - start)
                if response.status != 200 or b'"predictions"' not in payload:
                    failures.append(payload[:200].decode("utf-8", "replace"))
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return requests / elapsed, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and requests")
    parser.add_argument("--images", type=int, help="distinct images (default 256, quick 48)")
    args = parser.parse_args()
    count = args.images or (48 if args.quick else 256)
    rounds = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="taxon-bench-serve-") as temp:
        os.environ.setdefault("TAXON_HOME", str(Path(temp) / "home"))
        folder = Path(temp) / "images"
        folder.mkdir()
        paths = make_images(folder, count)
        bodies = [path.read_bytes() for path in paths]
        local_rate, local_latencies = in_process(paths, rounds)
        rows = [
            (
                "in-process, all files",
                "-",
                local_rate,
                percentile(local_latencies, 50),
                percentile(local_latencies, 99),
            )
        ]
        process, port = start_service(dict(os.environ))
        try:
            run_clients(port, bodies, 4, 16)  # warm up connections and workers
            for clients in CLIENTS:
                requests = max(count, 8 * clients) if clients > 1 else min(count, 128)
                rate, latencies = run_clients(port, bodies, clients, requests)
                rows.append(
                    (
                        f"service, {clients} client(s)",
                        str(clients),
                        rate,
                        percentile(latencies, 50),
                        percentile(latencies, 99),
                    )
                )
        finally:
            process.terminate()
            process.wait(30)
    print(
        f"{count} JPEGs of {SIZE[0]}x{SIZE[1]}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; in-process latency is one file at a time"
    )
    print(f"{'':26} {'img/s':>8} {'x in-proc':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, _clients, rate, p50, p99 in rows:
        print(
            f"{name:26} {rate:8.1f} {rate / local_rate:10.2f} {p50 * 1000:8.1f} {p99 * 1000:8.1f}"
        )
    ratio = rows[-1][2] / local_rate
    print(
        f"32 clients: {ratio:.2f}x in-process (target >= 0.8x): "
        f"{'met' if ratio >= 0.8 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
