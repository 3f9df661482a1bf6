"""Decoding camera JPEGs on an NVIDIA GPU, with the CPU decoder as a per-file fallback.

On two CPU cores a 12 MP JPEG costs ~47 ms to decode and shrink, four times what the
network costs (docs/performance.md, "Classify"). With a CUDA device the file's bytes are
read on the CPU (regular files only, at most ``MAX_FILE_BYTES``), decoded by nvJPEG
through ``torchvision.io.decode_jpeg(device=...)``, turned upright from the EXIF
orientation, resized (shorter side to ``resize_shorter``, bicubic with antialiasing, as
Pillow does) and centre-cropped on the GPU, the same transform as
``engine.data.images.decode_for_model``. Anything the GPU path does not take (not a JPEG,
CMYK, 16-bit, damaged, too large, out of GPU memory) goes through ``decode_for_model``
on the CPU, file by file, so one odd file never fails a batch and the errors are the
same translated ``ImageReadError``s the CPU path gives.

The pixels differ slightly from the CPU path's: Pillow decodes camera JPEGs at 1/2..1/8
scale in the DCT domain before resizing, the GPU decodes at full size. Both are
low-pass filters of the same picture (mean difference about one grey level; see
tests/engine/data/test_gpu_decode.py). ``device="cpu"`` runs the same code on the CPU, which
is how the tests check it on machines without a GPU.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.core import regular_files
from engine.data.images import (
    MAX_ASPECT_RATIO,
    THUMBNAIL_SIZE,
    DecodedImage,
    ImageReadError,
    decode_for_model,
    thumbnail_jpeg,
)

log = logging.getLogger(__name__)

#: Largest file read for the GPU path; bigger files go to the CPU path (which streams).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Pillow modes nvJPEG turns into RGB exactly as Pillow does (CMYK and others do not).
GPU_MODES = frozenset({"RGB", "L"})
#: Set to "0" to keep every decode on the CPU.
ENV = "TAXON_GPU_DECODE"


class _NotForGpu(Exception):
    """This file goes to the CPU decoder (the reason is for the log only)."""


def _header(data: bytes, path: str) -> tuple[tuple[int, int], int]:
    """(stored size, EXIF orientation) of a JPEG the GPU path can take, else ``_NotForGpu``."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
            if image.format != "JPEG" or image.mode not in GPU_MODES:
                raise _NotForGpu(f"{image.format} {image.mode}")
            width, height = image.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:
                raise _NotForGpu("over the pixel limit")
            if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
                raise _NotForGpu("too long and thin")
            orientation = image.getexif().get(0x0112, 1)
            return image.size, int(orientation) if orientation in range(1, 9) else 1
    except _NotForGpu:
        raise
    except Exception as error:  # noqa: BLE001 - the CPU path gives the right message
        raise _NotForGpu(f"{type(error).__name__}: {error}") from error


def orient(chw, orientation: int):
    """``chw`` turned upright as ``PIL.ImageOps.exif_transpose`` would (orientations 1-8)."""
    import torch

    if orientation == 2:
        return chw.flip(-1)
    if orientation == 3:
        return chw.flip(-1, -2)
    if orientation == 4:
        return chw.flip(-2)
    if orientation == 5:
        return chw.transpose(-1, -2)
    if orientation == 6:
        return torch.rot90(chw, -1, (-2, -1))
    if orientation == 7:
        return chw.transpose(-1, -2).flip(-1, -2)
    if orientation == 8:
        return torch.rot90(chw, 1, (-2, -1))
    return chw


def resize_shorter(chw, shorter: int):
    """uint8 CHW -> float CHW with the shorter side ``shorter`` (bicubic, antialiased).

    The new size is rounded as ``engine.data.images.resize_shorter_side`` rounds it.
    """
    import torch

    height, width = int(chw.shape[-2]), int(chw.shape[-1])
    if width <= height:
        size = (max(1, round(height * shorter / width)), shorter)
    else:
        size = (shorter, max(1, round(width * shorter / height)))
    image = chw.float()
    if size == (height, width):
        return image
    resized = torch.nn.functional.interpolate(
        image[None], size=size, mode="bicubic", antialias=True, align_corners=False
    )
    return resized[0]


def center_crop(chw, size: int):
    """The centre ``size`` x ``size`` square, placed as ``engine.data.images.center_crop`` does."""
    height, width = int(chw.shape[-2]), int(chw.shape[-1])
    left = int(round((width - size) / 2.0))
    top = int(round((height - size) / 2.0))
    return chw[..., top : top + size, left : left + size]


def to_uint8(chw):
    import torch

    return chw.round().clamp_(0, 255).to(dtype=torch.uint8)


def _read(path: str) -> bytes:
    try:
        return regular_files.read_regular(path, MAX_FILE_BYTES)
    except regular_files.FileTooLargeError as error:
        raise _NotForGpu("larger than MAX_FILE_BYTES") from error
    except OSError as error:
        raise _NotForGpu(f"{type(error).__name__}: {error}") from error


def _decode_on_device(datas: list[bytes], device) -> list[Any]:
    """nvJPEG (or libjpeg for ``device="cpu"``) decodes; one entry per file: CHW or an error."""
    import warnings

    import torch

    with warnings.catch_warnings():  # "deprecated since 0.29": still there, and nvJPEG is here
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import ImageReadMode, decode_jpeg

    tensors = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in datas]
    if len(tensors) > 1:
        try:  # one batched call: nvJPEG decodes the batch together
            return list(decode_jpeg(tensors, mode=ImageReadMode.RGB, device=device))
        except Exception:  # noqa: BLE001 - find the bad file(s) one by one
            log.debug("Batched GPU decode failed; decoding file by file", exc_info=True)
    results: list[Any] = []
    for tensor in tensors:
        try:
            results.append(decode_jpeg(tensor, mode=ImageReadMode.RGB, device=device))
        except Exception as error:  # noqa: BLE001 - this file goes to the CPU
            results.append(error)
    return results


def _gpu_pixels(decoded, orientation: int, size: int, shorter: int):
    """(model pixels HWC uint8, upright float image at ``shorter``, upright (width, height))."""
    upright = orient(decoded, orientation)
    resized = resize_shorter(upright, max(shorter, size))
    pixels = to_uint8(center_crop(resized, size)).permute(1, 2, 0)
    return pixels, resized, (int(upright.shape[-1]), int(upright.shape[-2]))


def _is_oom(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def decode_images(
    paths: Sequence[str | os.PathLike[str]],
    size: int = 224,
    resize_shorter: int = 256,
    device: Any = "cuda",
    *,
    thumbnails: bool = False,
    on_fallback: Callable[[str, str], None] | None = None,
) -> list[tuple[Any, Any, tuple[int, int]] | ImageReadError]:
    """Per path, in order: (pixels on ``device`` (size, size, 3) uint8, thumbnail JPEG bytes or
    None, (width, height) upright) or the ``ImageReadError`` of the CPU decoder.

    ``on_fallback(path, reason)`` is told about each file the GPU path did not take.
    """
    import torch

    paths = [os.fspath(p) for p in paths]
    results: list[Any] = [None] * len(paths)
    gpu: list[tuple[int, bytes, int]] = []
    fallback: dict[int, str] = {}
    for index, path in enumerate(paths):
        try:
            data = _read(path)
            _size, orientation = _header(data, path)
            gpu.append((index, data, orientation))
        except _NotForGpu as reason:
            fallback[index] = str(reason)
    if gpu:
        try:
            decoded = _decode_on_device([data for _i, data, _o in gpu], device)
        except Exception as error:  # noqa: BLE001 - e.g. no nvJPEG: everything to the CPU
            decoded = [error] * len(gpu)
        for (index, _data, orientation), image in zip(gpu, decoded, strict=True):
            if isinstance(image, BaseException):
                fallback[index] = f"{type(image).__name__}: {image}"
                if _is_oom(image) and torch.device(device).type == "cuda":
                    torch.cuda.empty_cache()
                continue
            try:
                pixels, resized, upright = _gpu_pixels(image, orientation, size, resize_shorter)
                thumb = _thumbnail(resized) if thumbnails else None
                results[index] = (pixels, thumb, upright)
            except Exception as error:  # noqa: BLE001 - OOM on a huge picture, ...
                fallback[index] = f"{type(error).__name__}: {error}"
            del image
    for index in sorted(fallback):
        if on_fallback is not None:
            on_fallback(paths[index], fallback[index])
        results[index] = _cpu_decode(paths[index], size, resize_shorter, device, thumbnails)
    return results


def _cpu_decode(path: str, size: int, shorter: int, device, thumbnails: bool):
    import torch

    try:
        decoded = decode_for_model(path, size, shorter)
    except ImageReadError as error:
        return error
    pixels = torch.from_numpy(decoded.pixels).to(device)
    return pixels, decoded.thumbnail_jpeg if thumbnails else None, (decoded.width, decoded.height)


def _thumbnail(resized) -> bytes:
    """A JPEG of the picture, longest side ``THUMBNAIL_SIZE``: shrunk on the device (the
    full picture never comes back to the CPU), then encoded by ``thumbnail_jpeg``."""
    import torch
    from PIL import Image

    height, width = int(resized.shape[-2]), int(resized.shape[-1])
    scale = THUMBNAIL_SIZE / max(height, width)
    if scale < 1:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        resized = torch.nn.functional.interpolate(
            resized[None], size=size, mode="bicubic", antialias=True, align_corners=False
        )[0]
    array = to_uint8(resized).permute(1, 2, 0).cpu().numpy()
    return thumbnail_jpeg(Image.fromarray(np.ascontiguousarray(array)))


def decode_batch(
    paths: Sequence[str | os.PathLike[str]],
    size: int = 224,
    device: Any = "cuda",
    resize_shorter: int = 256,
):
    """(uint8 (N, size, size, 3) tensor on ``device``, per-file errors), in the order of ``paths``.

    ``errors[i]`` is None when ``paths[i]`` decoded, else its ``ImageReadError``; the rows
    of files that failed are zeros (pick the others with ``[e is None for e in errors]``).
    """
    import torch

    results = decode_images(paths, size, resize_shorter, device)
    batch = torch.zeros((len(results), size, size, 3), dtype=torch.uint8, device=device)
    errors: list[ImageReadError | None] = []
    for row, result in enumerate(results):
        if isinstance(result, ImageReadError):
            errors.append(result)
        else:
            batch[row] = result[0]
            errors.append(None)
    return batch, errors


def decoded_for_model(
    paths: Sequence[str], size: int, resize_shorter: int, device: Any
) -> list[DecodedImage | ImageReadError]:
    """``decode_for_model`` for many files at once through the GPU: the same ``DecodedImage``
    (pixels back on the CPU as NumPy, a thumbnail, the upright size) or the error, in order."""
    out: list[DecodedImage | ImageReadError] = []
    for result in decode_images(paths, size, resize_shorter, device, thumbnails=True):
        if isinstance(result, ImageReadError):
            out.append(result)
            continue
        pixels, thumb, (width, height) = result
        out.append(DecodedImage(pixels.cpu().numpy(), thumb or b"", width, height))
    return out


# --------------------------------------------------------------------------- inference hook


def device_for(classifier: Any) -> str | None:
    """ "cuda:N" when ``classifier`` runs its network on a CUDA GPU and nvJPEG can be used,
    else None (then ``engine.models.inference`` keeps its CPU decode workers)."""
    if os.environ.get(ENV, "1") == "0":
        return None
    runner = getattr(classifier, "runner", None)
    on_gpu = "CUDAExecutionProvider" in (getattr(runner, "providers", None) or ())
    device = str(getattr(runner, "device", "") or "")
    if not (on_gpu or device.startswith("cuda")):
        return None
    try:
        import torch
        import torchvision.io  # noqa: F401

        if not torch.cuda.is_available():
            return None
    except Exception:  # noqa: BLE001 - no torchvision: CPU decoding
        return None
    return device if device.startswith("cuda") else "cuda"


def classify_on_gpu(
    classifier: Any,
    files: list[str],
    top_k: int,
    tracker: Any,
    cancel: Any,
    run_batch: Callable[..., None],
    failure: Callable[[str, BaseException], Any],
    device: str,
) -> None:
    """``engine.models.inference``'s batch loop with GPU decoding: ``run_batch(classifier, items,
    top_k, tracker)`` per batch of decoded files, ``tracker.emit(i, failure(path, error))``
    for each file neither the GPU nor the CPU could decode. Cancel is checked per batch."""
    size, shorter = classifier.preprocess.size, classifier.preprocess.resize_shorter
    step = max(1, int(getattr(classifier, "batch_size", 16)))
    for start in range(0, len(files), step):
        cancel.raise_if_cancelled()
        chunk = files[start : start + step]
        ready = []
        for offset, result in enumerate(decoded_for_model(chunk, size, shorter, device)):
            if isinstance(result, DecodedImage):
                ready.append((start + offset, chunk[offset], result))
            else:
                tracker.emit(start + offset, failure(chunk[offset], result))
        if ready:
            run_batch(classifier, ready, top_k, tracker)
        tracker.report()
