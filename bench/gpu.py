"""GPU proof: one script that exercises every GPU path of Taxon on a real NVIDIA card.

Run ``python bench/gpu.py`` (or ``make gpu-check``) from a fresh checkout on a machine
with an NVIDIA GPU. It prints one line per check, ``PASS|FAIL|SKIP  <check>  <figure>``,
then a JSON summary (also written to ``--json-out FILE``), and finishes within
``--budget`` seconds (default 470, under eight minutes): every check runs in its own
process with its own time limit, and a check that would start past the budget is
skipped with a SKIP line. Checks (details and targets in docs/performance.md, "GPU proof"):

- environment: torch, CUDA, the card, its memory, bf16 support;
- finetune-image: Taxon's fine-tune trainer in fp32, bf16 and fp16 autocast
  (channels-last) against a minimal timm loop, same model/batch/data, same process;
- finetune-text: the built-in e5-small fine-tuned, samples/s in bf16 and fp32;
- oom-backoff: a batch sized to need 1.5x the card's memory; the run halves and finishes;
- resume: ``main.py train`` killed with SIGKILL mid-run, resumed, compared;
- ddp: ``torchrun`` with NCCL, 1 process (and 2 with two GPUs);
- inference: ONNX Runtime CUDA / CPU / eager PyTorch CUDA, images/s at batch 1 and 64;
- gpu-decode: 12 MP JPEGs decoded by nvJPEG feeding the model, against the CPU pipeline;
- memory-figure: the Train page's GPU memory against ``torch.cuda.max_memory_allocated``.

Without CUDA every check prints ``SKIP ... no CUDA device`` and the script exits 0.
``--dry-run`` runs the CPU-side logic (arguments, data building, the checks that can run
on the CPU with tiny sizes, budgets, the report) so CI can test the script itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for entry in (str(ROOT), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from gpu_checks.common import Context, line, result, write_digits_rgb, write_photos, write_texts  # noqa: E402

DEFAULT_BUDGET_S = 470.0


def environment(ctx: Context) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "gpus": torch.cuda.device_count(),
    }
    try:
        import onnxruntime
        import torchvision

        info["torchvision"] = torchvision.__version__
        info["onnxruntime"] = onnxruntime.__version__
        info["ort_providers"] = onnxruntime.get_available_providers()
    except ImportError as error:
        info["import_error"] = str(error)
    if ctx.dry_run or not torch.cuda.is_available():
        return result(
            "PASS" if ctx.dry_run else "SKIP",
            f"torch {info['torch']}, no CUDA device (dry run)",
            **info,
        )
    props = torch.cuda.get_device_properties(0)
    info.update(
        name=props.name,
        memory_bytes=int(props.total_memory),
        capability=f"{props.major}.{props.minor}",
        bf16=torch.cuda.is_bf16_supported(),
    )
    figure = (
        f"{props.name}, {props.total_memory / 2**30:.1f} GiB, compute {info['capability']}, "
        f"bf16 {'yes' if info['bf16'] else 'no'}, torch {info['torch']}, CUDA {info['cuda']}, "
        f"{info['gpus']} GPU(s)"
    )
    return result("PASS", figure, **info)


def _checks() -> list[tuple[str, float, Callable[[Context], dict[str, Any]]]]:
    """(name, seconds allowed, function), in the order they run."""
    from gpu_checks import inference, training

    return [
        ("environment", 30, environment),
        ("finetune-image", 110, training.finetune_image),
        ("finetune-text", 60, training.finetune_text),
        ("oom-backoff", 75, training.oom_backoff),
        ("resume", 80, training.resume),
        ("ddp", 45, training.ddp),
        ("inference", 35, inference.inference),
        ("gpu-decode", 45, inference.gpu_decode),
        ("memory-figure", 30, training.memory_figure),
    ]


CHECK_NAMES = (
    "environment",
    "finetune-image",
    "finetune-text",
    "oom-backoff",
    "resume",
    "ddp",
    "inference",
    "gpu-decode",
    "memory-figure",
)


def build_data(ctx: Context) -> None:
    """Pictures, texts and photos every check shares (tiny ones in a dry run)."""
    start = time.perf_counter()
    if ctx.dry_run:
        ctx.digits_size = 32
        ctx.digits = str(write_digits_rgb(ctx.path("digits"), 32, per_class=5, classes=(0, 1, 2)))
        ctx.texts = str(write_texts(ctx.path("texts.csv"), 40))
        ctx.photos = str(ctx.path("photos"))
        write_photos(Path(ctx.photos), 2, (640, 480))
    else:
        ctx.digits = str(write_digits_rgb(ctx.path("digits"), ctx.digits_size))
        ctx.texts = str(write_texts(ctx.path("texts.csv"), 2000))
        ctx.photos = str(ctx.path("photos"))
        write_photos(Path(ctx.photos), 32, (4000, 3000))
    ctx.extra["data_s"] = time.perf_counter() - start


def run_child(name: str, ctx: Context, limit: float) -> dict[str, Any]:
    """Run one check in its own process group, killed (with anything it started) at ``limit``."""
    context_file = ctx.path("children", f"{name}.context.json")
    result_file = ctx.path("children", f"{name}.result.json")
    log_file = ctx.path("children", f"{name}.log")
    context_file.write_text(json.dumps(ctx.to_json()), encoding="utf-8")
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--context",
        str(context_file),
        "--result",
        str(result_file),
    ]
    with log_file.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
            env={**os.environ, "TAXON_HOME": ctx.home},
        )
        try:
            process.wait(timeout=max(1.0, limit))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return result("FAIL", f"timed out after {limit:.0f} s (log: {log_file})")
    if result_file.is_file():
        return json.loads(result_file.read_text(encoding="utf-8"))
    tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    return result("FAIL", f"exit {process.returncode}: {' '.join(tail)[-200:]} (log: {log_file})")


def run_in_process(function: Callable[[Context], dict[str, Any]], ctx: Context) -> dict[str, Any]:
    try:
        return function(ctx)
    except Exception as error:  # noqa: BLE001 - a failed check is a FAIL line, not a crash
        traceback.print_exc(file=sys.stderr)
        return result("FAIL", f"{type(error).__name__}: {error}")


def run_checks(
    ctx: Context, names: list[str], budget: float, isolate: bool, cuda: bool
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    rows = []
    for name, allowed, function in _checks():
        if name not in names:
            continue
        check_start = time.perf_counter()
        left = budget - (check_start - started)
        if not cuda and not ctx.dry_run:
            outcome = result("SKIP", "no CUDA device")
        elif left < min(allowed, 10.0) or left <= 0:
            outcome = result("SKIP", f"over the time budget ({budget:.0f} s) before it started")
        elif isolate:
            outcome = run_child(name, ctx, min(allowed, left))
        else:
            outcome = run_in_process(function, ctx)
            if time.perf_counter() - check_start > allowed and outcome["status"] == "PASS":
                outcome = result(
                    "FAIL",
                    f"took {time.perf_counter() - check_start:.0f} s, over "
                    f"its {allowed:.0f} s: " + outcome["figure"],
                    **outcome.get("data", {}),
                )
        outcome.update(
            name=name, seconds=round(time.perf_counter() - check_start, 2), allowed_s=allowed
        )
        print(line(outcome["status"], name, outcome["figure"]), flush=True)
        rows.append(outcome)
    return rows


def summary(
    ctx: Context, rows: list[dict[str, Any]], total: float, budget: float, cuda: bool
) -> dict[str, Any]:
    counts = {
        status: sum(r["status"] == status for r in rows) for status in ("PASS", "FAIL", "SKIP")
    }
    return {
        "script": "bench/gpu.py",
        "dry_run": ctx.dry_run,
        "cuda": cuda,
        "platform": platform.platform(),
        "total_s": round(total, 2),
        "budget_s": budget,
        "data_s": round(ctx.extra.get("data_s", 0.0), 2),
        "counts": counts,
        "ok": counts["FAIL"] == 0,
        "checks": rows,
    }


def child_main(args: argparse.Namespace) -> int:
    ctx = Context.from_json(json.loads(Path(args.context).read_text(encoding="utf-8")))
    function = {name: fn for name, _allowed, fn in _checks()}[args.child]
    outcome = run_in_process(function, ctx)
    Path(args.result).write_text(json.dumps(outcome, default=str), encoding="utf-8")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dry-run", action="store_true", help="CPU only, tiny sizes: test the script itself"
    )
    parser.add_argument("--json-out", help="also write the JSON summary to this file")
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"seconds for all checks (default {DEFAULT_BUDGET_S:.0f})",
    )
    parser.add_argument("--only", help="comma-separated checks: " + ",".join(CHECK_NAMES))
    parser.add_argument(
        "--isolate",
        choices=("auto", "yes", "no"),
        default="auto",
        help="a process per check (default: yes, no in a dry run)",
    )
    parser.add_argument("--keep", help="build data and outputs in this folder and keep them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--context", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [n.strip() for n in (args.only or ",".join(CHECK_NAMES)).split(",") if n.strip()]
    unknown = sorted(set(names) - set(CHECK_NAMES))
    if unknown:
        parser.error(f"unknown checks: {', '.join(unknown)}")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        return child_main(args)
    started = time.perf_counter()
    import torch

    cuda = torch.cuda.is_available()
    print(
        f"Taxon GPU proof: {platform.platform()}, Python {platform.python_version()}, torch "
        f"{torch.__version__}"
        + (f", {torch.cuda.get_device_name(0)}" if cuda else ", no CUDA")
        + (" (dry run)" if args.dry_run else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="taxon-gpu-") as temp:
        workdir = Path(args.keep).resolve() if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        ctx = Context(
            str(workdir),
            device="cuda" if cuda and not args.dry_run else "cpu",
            dry_run=args.dry_run,
        )
        # a dry run keeps the caller's TAXON_HOME (its ONNX export cache); a real run starts
        # from an empty one, as a fresh install does
        ctx.home = (os.environ.get("TAXON_HOME") if args.dry_run else None) or str(workdir / "home")
        if cuda or args.dry_run:
            build_data(ctx)
        isolate = args.isolate == "yes" or (args.isolate == "auto" and not args.dry_run)
        budget = args.budget - (time.perf_counter() - started)
        rows = run_checks(ctx, args.names, budget, isolate, cuda)
        report = summary(ctx, rows, time.perf_counter() - started, args.budget, cuda)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
