"""Training checks: image and text fine-tuning, OOM back-off, kill and resume, DDP, memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gpu_checks.common import Context, oom_plan, result, sync, write_digits_rgb

ROOT = Path(__file__).resolve().parents[2]
BATCH = 64
#: Taxon's fine-tune images/s over the hand loop's, and the accuracy spread over precisions.
TARGET_RATIO = 0.95
ACCURACY_SPREAD = 0.01
#: A resumed GPU run may differ from an uninterrupted one by this much validation accuracy
#: (cuDNN and atomics make GPU training non-deterministic; on the CPU the tests ask for 0).
RESUME_TOLERANCE = 0.02


@contextmanager
def forced_precision(name: str):
    """Make the trainers use ``name`` autocast on CUDA. TrainConfig.precision only says
    "auto" (bf16 where supported, else fp16) or "fp32", so fp16 on a bf16 card needs this."""
    import torch

    import engine.training.finetune as finetune

    if name not in ("bf16", "fp16"):
        yield
        return
    dtype = torch.bfloat16 if name == "bf16" else torch.float16
    original = finetune.amp_dtype
    finetune.amp_dtype = lambda config, device: dtype if device.kind == "cuda" else None
    try:
        yield
    finally:
        finetune.amp_dtype = original


def taxon_run(dataset_path: str, out: Path, config, precision: str) -> dict[str, Any]:
    """``engine.training.train`` with its events timed; epoch wall times and the result."""
    import torch

    from engine.data.dataset_io import load_dataset
    from engine.training import train

    stamps: list[float] = []
    memory: list[int] = []
    notes: list[str] = []
    rates: list[float] = []

    def on_event(event) -> None:
        if event.gpu_memory_bytes:
            memory.append(int(event.gpu_memory_bytes))
        if event.kind == "epoch":
            stamps.append(time.perf_counter())
        elif event.kind == "step" and event.items_per_s:
            rates.append(float(event.items_per_s))
        elif event.kind == "note" and event.note is not None:
            notes.append(event.note.text())

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with forced_precision(precision):
        done = train(load_dataset(dataset_path), out, config, on_event=on_event, resume=False)
    peak = int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None
    return {
        "seconds": time.perf_counter() - start,
        "epoch_s": _diffs(start, stamps),
        "accuracy": float(done.metrics["accuracy"]),
        "history": done.history,
        "reported_memory_max": max(memory) if memory else None,
        "peak_memory": peak,
        "notes": notes,
        "reported_rate": rates[-1] if rates else None,
    }


def _diffs(start: float, stamps: list[float]) -> list[float]:
    marks = [start, *stamps]
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def hand_run(
    dataset_path: str, precision: str, batch: int, epochs: int, device: str, workers: int
) -> dict[str, Any]:
    """A minimal timm loop on the same files, pictures, batch and precision: epoch wall times
    (training plus one validation pass, as Taxon's epochs) and the last validation accuracy."""
    import multiprocessing

    import torch

    from engine.data.dataset_io import load_dataset
    from engine.models.image_package import new_network
    from engine.training.config import TrainConfig
    from engine.training.data import prepare
    from engine.training.image_data import PictureSet

    prepared = prepare(load_dataset(dataset_path), validation_fraction=0.2, seed=0)
    config = TrainConfig(mode="finetune").resolved("image")
    cuda = device.startswith("cuda")
    context = multiprocessing.get_context("forkserver") if workers else None

    def loader(items, labels, train: bool):
        return torch.utils.data.DataLoader(
            PictureSet(items, labels, train, config),
            batch_size=batch,
            shuffle=train,
            num_workers=workers,
            pin_memory=cuda,
            persistent_workers=workers > 0,
            multiprocessing_context=context,
        )

    train_loader = loader(prepared.train_items, prepared.train_y, True)
    val_loader = loader(prepared.val_items, prepared.val_y, False)
    torch.manual_seed(0)
    model = new_network(len(prepared.labels)).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision) if cuda else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.05)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    fmt = torch.channels_last if cuda else torch.contiguous_format
    times, accuracy = [], 0.0
    for _epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        for inputs, labels in train_loader:
            inputs = inputs.to(device, non_blocking=True).contiguous(memory_format=fmt)
            labels = labels.to(device, non_blocking=True)
            with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
                logits = model(inputs)
            loss = loss_fn(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
        model.eval()
        right = seen = 0
        with torch.no_grad():
            for inputs, labels in val_loader:
                inputs = inputs.to(device, non_blocking=True).contiguous(memory_format=fmt)
                with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
                    logits = model(inputs)
                right += int((logits.argmax(1).cpu() == labels).sum())
                seen += len(labels)
        sync(device)
        times.append(time.perf_counter() - start)
        accuracy = right / max(1, seen)
    return {"epoch_s": times, "accuracy": accuracy, "train_rows": len(prepared.train_items)}


def _workers(ctx: Context) -> int:
    from engine.training.image_data import default_workers

    return 0 if ctx.dry_run else default_workers("cuda")


def finetune_image(ctx: Context) -> dict[str, Any]:
    from engine.training.config import TrainConfig

    if ctx.dry_run:
        return _finetune_image_dry(ctx)
    precisions = ["fp32", "bf16", "fp16"]
    epochs, batch = 2, BATCH
    rows: dict[str, Any] = {}
    for precision in precisions:
        config = TrainConfig(
            mode="finetune",
            epochs=epochs,
            batch_size=batch,
            device=ctx.device,
            precision="fp32" if precision == "fp32" else "auto",
            seed=0,
            workers=_workers(ctx),
            patience=epochs + 1,
        )
        taxon = taxon_run(ctx.digits, ctx.path("finetune-image", precision), config, precision)
        hand = hand_run(ctx.digits, precision, batch, epochs, ctx.device, _workers(ctx))
        # the last epoch: persistent workers and cuDNN autotuning are warm by then
        rows[precision] = {
            "taxon_img_s": hand["train_rows"] / taxon["epoch_s"][-1],
            "hand_img_s": hand["train_rows"] / hand["epoch_s"][-1],
            "taxon_accuracy": taxon["accuracy"],
            "hand_accuracy": hand["accuracy"],
            "taxon_reported_rate": taxon["reported_rate"],
        }
        rows[precision]["ratio"] = rows[precision]["taxon_img_s"] / rows[precision]["hand_img_s"]
    spread = max(r["taxon_accuracy"] for r in rows.values()) - min(
        r["taxon_accuracy"] for r in rows.values()
    )
    worst = min(r["ratio"] for r in rows.values())
    ok = worst >= TARGET_RATIO and spread <= ACCURACY_SPREAD
    figure = ", ".join(
        f"{p} {r['taxon_img_s']:.0f} img/s ({r['ratio']:.2f}x hand, acc {r['taxon_accuracy']:.3f})"
        for p, r in rows.items()
    )
    figure += f"; accuracy spread {spread * 100:.1f} pt (targets >= {TARGET_RATIO}x, <= 1 pt)"
    return result("PASS" if ok else "FAIL", figure, rows=rows, epochs=epochs, batch=batch)


def _finetune_image_dry(ctx: Context) -> dict[str, Any]:
    """The data side only (a 224 px network step takes seconds on a CI CPU): the split and
    one augmented batch through Taxon's own picture pipeline."""
    import torch

    from engine.data.dataset_io import load_dataset
    from engine.training.config import TrainConfig
    from engine.training.data import prepare
    from engine.training.image_data import PictureBatches, PictureSet

    prepared = prepare(load_dataset(ctx.digits), validation_fraction=0.2, seed=0)
    config = TrainConfig(mode="finetune").resolved("image")
    batches = PictureBatches(
        PictureSet(prepared.train_items, prepared.train_y, True, config),
        PictureSet(prepared.val_items, prepared.val_y, False, config),
        0,
        pin=False,
        seed=0,
    )
    start = time.perf_counter()
    inputs, labels = next(iter(batches("train", list(range(len(prepared.train_y))), 4, 0)))
    batches.close()
    assert inputs.shape[1:] == (3, 224, 224) and inputs.dtype == torch.float32
    return result(
        "PASS",
        f"dry run: {len(prepared.train_items)} training and "
        f"{len(prepared.val_items)} validation pictures, a batch of "
        f"{len(labels)} in {time.perf_counter() - start:.2f} s; precisions "
        f"fp32, bf16, fp16 need CUDA",
        train=len(prepared.train_items),
    )


def finetune_text(ctx: Context) -> dict[str, Any]:
    from engine.training.config import TrainConfig

    if ctx.dry_run:
        lines = Path(ctx.texts).read_text(encoding="utf-8").count("\n") - 1
        return result("SKIP", f"dry run: {lines} texts written, e5 fine-tune needs CUDA here")
    rows = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(
            mode="finetune",
            epochs=2,
            batch_size=32,
            device=ctx.device,
            precision="fp32" if precision == "fp32" else "auto",
            seed=0,
            patience=3,
        )
        run = taxon_run(ctx.texts, ctx.path("finetune-text", precision), config, precision)
        rows[precision] = {
            "samples_s": _train_rows(ctx.texts) / run["epoch_s"][-1],
            "accuracy": run["accuracy"],
        }
    speedup = rows["bf16"]["samples_s"] / rows["fp32"]["samples_s"]
    figure = (
        f"fp32 {rows['fp32']['samples_s']:.0f} samples/s (acc {rows['fp32']['accuracy']:.3f}),"
        f" bf16 {rows['bf16']['samples_s']:.0f} samples/s (acc "
        f"{rows['bf16']['accuracy']:.3f}), bf16/fp32 {speedup:.2f}x"
    )
    ok = speedup >= 1.0 and abs(rows["bf16"]["accuracy"] - rows["fp32"]["accuracy"]) <= 0.02
    return result("PASS" if ok else "FAIL", figure, rows=rows, speedup=speedup)


def _train_rows(path: str) -> int:
    rows = Path(path).read_text(encoding="utf-8").count("\n") - 1
    return int(rows * 0.8)


def per_sample_bytes(device: str, size: int = 224, batch: int = 16) -> float:
    """GPU memory one more 224 px example costs in an fp32 fine-tune step (measured)."""
    import torch

    from engine.models.image_package import new_network

    model = new_network(10).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters())
    used = []
    for count in (batch // 2, batch):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        inputs = torch.randn(count, 3, size, size, device=device)
        loss = model(inputs.contiguous(memory_format=torch.channels_last)).float().sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        used.append(torch.cuda.max_memory_allocated() - base)
        del inputs, loss
    del model, optimizer
    torch.cuda.empty_cache()
    return max(1.0, (used[1] - used[0]) / (batch - batch // 2))


def oom_backoff(ctx: Context) -> dict[str, Any]:
    from engine.training.config import TrainConfig

    if ctx.dry_run:
        plan = oom_plan(2 * 1024**3, 60e6)
        return result(
            "SKIP",
            f"dry run: on a 2 GiB card at 60 MB per example it would start at "
            f"batch {plan['batch']} with {plan['rows']} files and expect "
            f"{plan['expected_halvings']} halvings",
            plan=plan,
        )
    import torch

    total = torch.cuda.get_device_properties(0).total_memory
    per_sample = per_sample_bytes(ctx.device)
    plan = oom_plan(total, per_sample)
    per_class = -(-plan["rows"] // 10)
    copies = -(-per_class // 170)  # scikit-learn has >= 174 digits per class
    folder = write_digits_rgb(
        ctx.path("oom-data"), 32, per_class=-(-per_class // copies), copies=copies
    )
    config = TrainConfig(
        mode="finetune",
        epochs=1,
        batch_size=plan["batch"],
        device=ctx.device,
        precision="fp32",
        seed=0,
        workers=0,
        validation_fraction=0.1,
        augment_crop=False,
        augment_color=False,
        augment_flip=False,
    )
    run = taxon_run(str(folder), ctx.path("oom-model"), config, "fp32")
    halvings = len([n for n in run["notes"] if "memory" in n.lower()])
    final = run["history"][-1]["batch_size"]
    figure = (
        f"{total / 2**30:.0f} GiB card, {per_sample / 2**20:.0f} MiB per example: "
        f"batch {plan['batch']} -> {final} after {halvings} halvings, finished in "
        f"{run['seconds']:.0f} s"
    )
    return result(
        "PASS" if halvings >= 1 and final < plan["batch"] else "FAIL",
        figure,
        plan=plan,
        per_sample_bytes=per_sample,
        halvings=halvings,
        final_batch=final,
    )


def _main_py(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), *args]


def _train_args(ctx: Context, out: Path, epochs: int, restart: bool) -> list[str]:
    args = [
        "train",
        ctx.digits,
        "--out",
        str(out),
        "--mode",
        "finetune",
        "--epochs",
        str(epochs),
        "--batch-size",
        str(BATCH),
        "--seed",
        "0",
        "--device",
        "cuda",
        "--json",
    ]
    return args + (["--restart"] if restart else [])


def _env(ctx: Context, **extra: str) -> dict[str, str]:
    return {**os.environ, "TAXON_HOME": ctx.home, **extra}


def resume(ctx: Context) -> dict[str, Any]:
    epochs = 4
    if ctx.dry_run:
        command = " ".join(_main_py(*_train_args(ctx, Path("OUT"), epochs, True))[1:])
        return result("SKIP", f"dry run: would kill and resume `{command}`")
    reference = subprocess.run(
        _main_py(*_train_args(ctx, ctx.path("resume", "ref"), epochs, True)),
        capture_output=True,
        text=True,
        env=_env(ctx),
        cwd=ROOT,
    )
    if reference.returncode != 0:
        return result("FAIL", "reference run failed: " + reference.stderr.strip()[-300:])
    out = ctx.path("resume", "killed")
    process = subprocess.Popen(
        _main_py(*_train_args(ctx, out, epochs, True)),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(ctx, TAXON_FAULTS="slow@0.02"),
    )
    killed_after = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            markers = [
                json.loads(p.read_text()) for p in Path(ctx.home).rglob("runs/*/latest.json")
            ]
            done = max((m.get("epoch", 0) for m in markers), default=0)
            if done >= 2:
                killed_after = done
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    if killed_after is None:
        return result("FAIL", "the run ended or stalled before its second checkpoint")
    resumed = subprocess.run(
        _main_py(*_train_args(ctx, out, epochs, False)),
        capture_output=True,
        text=True,
        env=_env(ctx),
        cwd=ROOT,
    )
    if resumed.returncode != 0:
        return result("FAIL", "resumed run failed: " + resumed.stderr.strip()[-300:])
    a, b = json.loads(reference.stdout), json.loads(resumed.stdout)
    delta = abs(a["metrics"]["accuracy"] - b["metrics"]["accuracy"])
    ok = b["resumed_from_epoch"] == killed_after and delta <= RESUME_TOLERANCE
    figure = (
        f"killed after epoch {killed_after}, resumed from {b['resumed_from_epoch']}: accuracy "
        f"{b['metrics']['accuracy']:.4f} vs {a['metrics']['accuracy']:.4f} uninterrupted "
        f"(|diff| {delta:.4f}, tolerance {RESUME_TOLERANCE})"
    )
    return result("PASS" if ok else "FAIL", figure, reference=a["metrics"], resumed=b["metrics"])


NCCL_PROBE = """
import os, torch, torch.distributed as dist
dist.init_process_group("nccl")
torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
x = torch.ones(1, device="cuda") * (dist.get_rank() + 1)
dist.all_reduce(x)
print("ALLREDUCE", int(x.item()), dist.get_world_size())
dist.destroy_process_group()
"""


def _torchrun(nproc: int, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        *args,
    ]


def ddp(ctx: Context) -> dict[str, Any]:
    if ctx.dry_run:
        command = " ".join(_torchrun(1, "main.py", "train", "...")[1:])
        return result("SKIP", f"dry run: would run `{command}` with NCCL")
    import torch

    gpus = torch.cuda.device_count()
    figures, data = [], {}
    probe = ctx.path("ddp", "nccl_probe.py")
    probe.write_text(NCCL_PROBE, encoding="utf-8")
    ok = True
    for nproc in sorted({1, min(2, gpus)}):
        done = subprocess.run(
            _torchrun(nproc, str(probe)), capture_output=True, text=True, cwd=ROOT, env=_env(ctx)
        )
        expected = f"ALLREDUCE {nproc * (nproc + 1) // 2} {nproc}"
        nccl_ok = done.returncode == 0 and expected in done.stdout
        start = time.perf_counter()
        out = ctx.path("ddp", f"model-{nproc}")
        train = subprocess.run(
            _torchrun(nproc, str(ROOT / "main.py"), *_train_args(ctx, out, 1, True)),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=_env(ctx),
        )
        train_ok = train.returncode == 0 and (out / "taxon-model.json").is_file()
        accuracy = json.loads(train.stdout)["metrics"]["accuracy"] if train_ok else None
        data[nproc] = {
            "nccl": nccl_ok,
            "train": train_ok,
            "accuracy": accuracy,
            "seconds": time.perf_counter() - start,
            "stderr": "" if train_ok else train.stderr[-1500:],
        }
        ok = ok and nccl_ok and train_ok
        figures.append(
            f"{nproc} GPU: NCCL all-reduce {'ok' if nccl_ok else 'FAILED'}, train "
            + (f"ok (acc {accuracy:.3f}, {data[nproc]['seconds']:.0f} s)" if train_ok else "FAILED")
        )
    if gpus < 2:
        figures.append(
            "one GPU, so WORLD_SIZE=1 and Taxon trains without a process group; "
            "2-process DDP not run"
        )
    return result("PASS" if ok else "FAIL", "; ".join(figures), runs=data, gpus=gpus)


def memory_figure(ctx: Context) -> dict[str, Any]:
    from engine.training.config import TrainConfig

    if ctx.dry_run:
        return result("SKIP", "dry run: the GPU memory figure needs CUDA")
    config = TrainConfig(
        mode="finetune",
        epochs=1,
        batch_size=BATCH,
        device=ctx.device,
        precision="fp32",
        seed=0,
        workers=_workers(ctx),
    )
    run = taxon_run(ctx.digits, ctx.path("memory-model"), config, "fp32")
    shown, peak = run["reported_memory_max"] or 0, run["peak_memory"] or 1
    close = abs(shown - peak) / peak <= 0.05
    figure = (
        f"Train page shows up to {shown / 2**20:.0f} MiB, torch.cuda.max_memory_allocated "
        f"{peak / 2**20:.0f} MiB ({shown / peak:.2f}x; target within 5%)"
    )
    if not close:
        figure += (
            "; the loop reports memory_allocated (current): switch _Run.gpu_memory to "
            "max_memory_allocated and reset the peak per epoch"
        )
    return result("PASS" if close else "FAIL", figure, shown=shown, peak=peak)
