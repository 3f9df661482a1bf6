"""Inference checks: ONNX Runtime CUDA vs CPU vs eager PyTorch CUDA, and GPU JPEG decoding."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from gpu_checks.common import Context, result, sync

#: GPU decode + model must beat the CPU pipeline (decode workers + ONNX Runtime) by this much.
DECODE_TARGET = 2.0


def _export_path() -> Path:
    """The built-in model's verified ONNX export (made now if the cache has none)."""
    from engine.models.backbones import efficientnet_lite0 as lite0
    from engine.models.backbones import onnx_runtime as rt

    lite0.load_classifier(backend="onnx").close()
    cached = rt.find_cached(lite0.BACKBONE_ID, lite0.weights_sha256())
    if not cached:
        raise RuntimeError("no verified ONNX export of the built-in model")
    return cached.path


def _rate(run, batch: np.ndarray, seconds: float, device: str | None = None) -> float:
    """Images per second of ``run(batch)`` over about ``seconds`` (after two warm-up calls)."""
    for _ in range(2):
        run(batch)
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        run(batch)
        calls += 1
    if device:
        sync(device)
    return calls * len(batch) / (time.perf_counter() - start)


def torch_runner(device: str):
    import torch

    from engine.models.backbones import efficientnet_lite0 as lite0
    from engine.models.backbones.onnx_runtime import with_normalization

    model = with_normalization(lite0.load_model(), lite0.MEAN, lite0.STD).to(device).eval()

    def run(batch):
        with torch.inference_mode():
            tensor = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(batch)
            return model(tensor.to(device, non_blocking=True)).float().cpu().numpy()

    return run, model


def inference(ctx: Context) -> dict[str, Any]:
    import onnxruntime as ort

    from engine.models.backbones import onnx_runtime as rt

    if ctx.dry_run:
        return result("SKIP", "dry run: the three runners need the model on CUDA")
    seconds = 3.0
    path = _export_path()
    rng = np.random.default_rng(0)
    batches = {n: rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8) for n in (1, 64)}
    runners: dict[str, Any] = {}
    cpu = rt.create_session(path, allow_cuda=False)
    runners["ort-cpu"] = lambda b: cpu.run(None, {"pixels": b})[0]
    notes = []
    if "CUDAExecutionProvider" in ort.get_available_providers() and not ctx.dry_run:
        gpu = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
        runners["ort-cuda"] = lambda b: gpu.run(None, {"pixels": b})[0]
    else:
        notes.append(
            "onnxruntime has no CUDAExecutionProvider (the CPU build is installed; "
            "onnxruntime-gpu would add it)"
        )
    runners["torch-" + ctx.device.split(":")[0]] = torch_runner(ctx.device)[0]
    reference = runners["ort-cpu"](batches[1])
    rates: dict[str, dict[int, float]] = {}
    agree = {}
    for name, run in runners.items():
        agree[name] = float(np.max(np.abs(run(batches[1]) - reference)))
        rates[name] = {n: _rate(run, batch, seconds, ctx.device) for n, batch in batches.items()}
    figure = "; ".join(f"{name} {r[1]:.0f} / {r[64]:.0f} img/s" for name, r in rates.items())
    figure = "batch 1 / 64: " + figure + "".join(f"; {n}" for n in notes)
    worst = max(agree.values())
    ok = worst < 1e-2 and all(r[64] > 0 for r in rates.values())
    fastest_gpu = max((r[64] for n, r in rates.items() if "cpu" not in n), default=0.0)
    ok = ok and fastest_gpu > rates["ort-cpu"][64]
    return result(
        "PASS" if ok else "FAIL",
        figure + f"; max |logit diff| {worst:.1e}",
        rates=rates,
        max_logit_diff=agree,
        notes=notes,
    )


def gpu_decode(ctx: Context) -> dict[str, Any]:
    import torch

    from engine.data import gpu_decode as decoder
    from engine.data.images import decode_for_model
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier

    photos = sorted(str(p) for p in Path(ctx.photos).glob("*.jpg"))
    if ctx.dry_run:  # the decoder on the CPU (libjpeg): fallback, order, pixels
        batch, errors = decoder.decode_batch(photos, 224, "cpu")
        reference = decode_for_model(photos[0]).pixels.astype(np.int16)
        diff = float(np.abs(batch[0].numpy().astype(np.int16) - reference).mean())
        ok = all(e is None for e in errors) and diff < 1.5
        return result(
            "PASS" if ok else "FAIL",
            f"dry run: {len(photos)} photos decoded on the "
            f"CPU by the GPU code path, mean pixel diff vs CPU {diff:.2f}",
        )
    run, _model = torch_runner(ctx.device)
    chunk = 16
    fallbacks: list[str] = []

    def gpu_pipeline(paths: list[str]) -> int:
        count = 0
        for start in range(0, len(paths), chunk):
            results = decoder.decode_images(
                paths[start : start + chunk],
                224,
                256,
                ctx.device,
                on_fallback=lambda p, why: fallbacks.append(why),
            )
            pixels = [r[0] for r in results if not isinstance(r, Exception)]
            if pixels:
                run(torch.stack(pixels))
                count += len(pixels)
        sync(ctx.device)
        return count

    gpu_pipeline(photos[:2])  # warm-up: nvJPEG handles, cuDNN
    start = time.perf_counter()
    done = gpu_pipeline(photos)
    gpu_rate = done / (time.perf_counter() - start)
    classifier = load_classifier()
    try:
        classify_images(classifier, photos[:2])  # warm-up: decode workers, session
        start = time.perf_counter()
        cpu_results = classify_images(classifier, photos)
        cpu_rate = len(cpu_results) / (time.perf_counter() - start)
    finally:
        classifier.close()
    batch, _errors = decoder.decode_batch(photos[:1], 224, ctx.device)
    reference = decode_for_model(photos[0]).pixels.astype(np.int16)
    diff = float(np.abs(batch[0].cpu().numpy().astype(np.int16) - reference).mean())
    ratio = gpu_rate / cpu_rate
    figure = (
        f"{len(photos)} photos: GPU decode + torch {gpu_rate:.1f} photos/s vs CPU pipeline "
        f"{cpu_rate:.1f} photos/s ({ratio:.2f}x, target >= {DECODE_TARGET}x); "
        f"{len(fallbacks)} CPU fallbacks; mean pixel diff vs CPU {diff:.2f}"
    )
    data = {
        "gpu_photos_s": gpu_rate,
        "cpu_photos_s": cpu_rate,
        "fallbacks": fallbacks[:5],
        "mean_pixel_diff": diff,
        "photos": len(photos),
    }
    ok = ratio >= DECODE_TARGET and not fallbacks and diff < 1.5
    return result("PASS" if ok else "FAIL", figure, **data)
