"""Running image models fast: a cached ONNX export under ONNX Runtime, or PyTorch.

On a laptop CPU, ONNX Runtime runs EfficientNet-Lite0 about 3.5 times faster
than eager PyTorch, and a cached export loads without importing torch at all
(importing torch alone takes longer than classifying a photo). So the model is
exported once, verified against PyTorch, and kept in
``user_cache_dir()/onnx/`` under a name that includes the weights' SHA-256 and
the torch, onnx and onnxruntime versions: new weights or a library upgrade
give a new file instead of a stale one. A JSON sidecar beside it holds what
loading needs without torch (the labels) and records a failed parity check,
so a failing export is not retried on every start.

Both runners take the decoders' output as it is, uint8 (N, H, W, 3) RGB, and
return logits as a NumPy array: ``with_normalization`` puts the layout change
and the mean/std scaling into the network, so ONNX Runtime does them fused
and multi-threaded, and the export carries its own preprocessing constants.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.atomic import write_atomic
from engine.core.jobs import CancelToken
from engine.core.paths import user_cache_dir

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

log = logging.getLogger(__name__)

#: Supported by the legacy (TorchScript) exporter and by every onnxruntime >= 1.12.
OPSET = 17
#: Largest allowed logit difference between PyTorch and the export.
PARITY_TOLERANCE = 1e-3
#: Set to "onnx" or "torch" to force a backend (tests, troubleshooting).
BACKEND_ENV = "TAXON_INFERENCE_BACKEND"
BACKENDS = ("auto", "onnx", "torch")
#: 2: the model takes uint8 NHWC pixels (normalisation inside the graph).
SIDECAR_FORMAT = 2


@dataclass(frozen=True)
class CachedExport:
    """A verified export: the ``.onnx`` path and the metadata saved beside it."""

    path: Path
    metadata: dict[str, Any]


def with_normalization(
    model: torch.nn.Module, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.nn.Module:
    """Wrap ``model`` so it takes uint8 (N, H, W, 3) RGB pixels instead of normalised NCHW."""
    import torch

    class Normalized(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            scale = torch.tensor([1.0 / (255.0 * s) for s in std]).view(1, 3, 1, 1)
            shift = torch.tensor([m / s for m, s in zip(mean, std, strict=True)]).view(1, 3, 1, 1)
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            batch = pixels.permute(0, 3, 1, 2).float()
            return self.model(batch * self.scale - self.shift)

    return Normalized().eval()


def onnxruntime_available() -> bool:
    """Whether onnxruntime is installed, without importing it."""
    return importlib.util.find_spec("onnxruntime") is not None


def requested_backend(backend: str | None = None) -> str:
    """The backend asked for: an explicit argument, else ``TAXON_INFERENCE_BACKEND``, else auto."""
    choice = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if choice not in BACKENDS:
        raise ValueError(f"unknown inference backend {choice!r}; use one of {BACKENDS}")
    return choice


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def cache_paths(name: str, weights_sha256: str) -> tuple[Path, Path]:
    """Where the export of ``name`` with these weights lives: (``.onnx``, ``.json``)."""
    versions = "-".join(
        f"{dist}{_version(dist)}" for dist in ("torch", "onnx", "onnxruntime")
    ).replace("+", "_")
    stem = f"{name}-{weights_sha256[:16]}-{versions}-op{OPSET}-f{SIDECAR_FORMAT}"
    folder = user_cache_dir() / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}.onnx", folder / f"{stem}.json"


def read_sidecar(meta_path: Path) -> dict[str, Any] | None:
    """The sidecar's content, or None if it is missing or unreadable."""
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        return None
    return data


def find_cached(name: str, weights_sha256: str) -> CachedExport | None | bool:
    """A usable cached export; ``False`` if an earlier export failed its parity check.

    ``None`` means nothing is cached yet. Needs neither torch nor onnxruntime.
    """
    onnx_path, meta_path = cache_paths(name, weights_sha256)
    metadata = read_sidecar(meta_path)
    if metadata is None:
        return None
    if not metadata.get("parity_ok", False):
        return False
    if not onnx_path.is_file():
        return None
    return CachedExport(onnx_path, metadata)


def export_verified(
    name: str,
    weights_sha256: str,
    model: torch.nn.Module,
    samples: np.ndarray,
    metadata: dict[str, Any],
    cancel: CancelToken | None = None,
    exported: Callable[[], None] | None = None,
) -> CachedExport | None:
    """Export ``model`` to ONNX, check it against PyTorch on ``samples``, cache it.

    ``model`` takes uint8 NHWC pixels (see ``with_normalization``) and
    ``samples`` is such a batch of preprocessed real photos. The export
    is kept only if every sample's top-1 class agrees and no logit differs by
    ``PARITY_TOLERANCE`` or more; otherwise it is deleted, the reason logged,
    the failure recorded in the sidecar, and None returned so the caller
    falls back to PyTorch.
    """
    onnx_path, meta_path = cache_paths(name, weights_sha256)
    model = model.eval().cpu()
    record = {
        "format": SIDECAR_FORMAT,
        "name": name,
        "weights_sha256": weights_sha256,
        "opset": OPSET,
        "torch": _version("torch"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime"),
        **metadata,
    }
    try:
        payload = _export_bytes(model, samples[:2])
    except Exception as error:  # the exporter cannot handle this torch/onnx combination
        log.warning("Cannot export %s to ONNX; using PyTorch", name, exc_info=True)
        payload, reason = b"", f"export failed: {type(error).__name__}: {error}"
    else:
        if cancel is not None:
            cancel.raise_if_cancelled()
        if exported is not None:  # progress: the export is made, the check begins
            exported()
        reason = _parity_problem(model, payload, samples)
    try:
        if reason is not None:
            log.warning("ONNX export of %s is not used (%s); using PyTorch", name, reason)
            onnx_path.unlink(missing_ok=True)
            record.update(parity_ok=False, parity_problem=reason)
            write_atomic(meta_path, json.dumps(record, indent=1).encode("utf-8"))
            return None
        record["parity_ok"] = True
        write_atomic(onnx_path, payload)
        write_atomic(meta_path, json.dumps(record, indent=1).encode("utf-8"))
    except OSError:  # a read-only or full cache folder: PyTorch still works
        log.warning("Cannot write the ONNX cache in %s", onnx_path.parent, exc_info=True)
        return None
    log.info("Exported %s to %s", name, onnx_path)
    return CachedExport(onnx_path, record)


def _export_bytes(model: torch.nn.Module, example: np.ndarray) -> bytes:
    """The ONNX file for ``model`` with a dynamic batch axis, in memory."""
    import torch

    buffer = io.BytesIO()
    with torch.inference_mode(), warnings.catch_warnings():
        # The legacy exporter: the torch.export-based one needs onnxscript,
        # which Taxon does not ship. Its deprecation notice is for us, not users.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.from_numpy(np.ascontiguousarray(example)),),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
            do_constant_folding=True,
        )
    return buffer.getvalue()


def _parity_problem(model: torch.nn.Module, payload: bytes, samples: np.ndarray) -> str | None:
    """Why the export disagrees with PyTorch on ``samples``, or None if it agrees."""
    import torch

    try:
        session = create_session(payload, threads=None, allow_cuda=False)
        exported = session.run(None, {"pixels": samples})[0]
    except Exception as error:  # an export ORT cannot run is a failed check, not a crash
        return f"onnxruntime cannot run the export: {type(error).__name__}: {error}"
    with torch.inference_mode():
        reference = model(torch.from_numpy(samples)).numpy()
    if exported.shape != reference.shape:
        return f"output shape {exported.shape} != {reference.shape}"
    delta = float(np.max(np.abs(exported - reference)))
    same_top1 = bool(np.all(exported.argmax(1) == reference.argmax(1)))
    if not same_top1 or not delta < PARITY_TOLERANCE:
        return f"top-1 equal: {same_top1}, max |logit difference| {delta:.2e}"
    return None


def import_onnxruntime():
    """``onnxruntime`` with its telemetry off, the only way Taxon imports it.

    ORT on Linux writes a device id and an event queue under
    ``~/.cache/Microsoft`` at import unless ``ORT_DISABLE_TELEMETRY`` is set
    (``engine.core.offline`` sets it at start-up; this covers callers that skipped
    ``engine/__init__``); ``disable_telemetry_events`` stops events from sessions.
    """
    from engine.core.offline import enforce_offline_environment

    enforce_offline_environment()
    import onnxruntime as ort

    disable = getattr(ort, "disable_telemetry_events", None)
    if disable is not None:
        disable()
    return ort


def create_session(model: Path | bytes, threads: int | None = None, allow_cuda: bool = True):
    """An ONNX Runtime session: CUDA if ORT and torch both see a GPU, else all CPU cores."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle ORT threads otherwise spin for a while after each run, taking the
    # CPU from the decode workers that run beside it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if allow_cuda and "CUDAExecutionProvider" in ort.get_available_providers():
        import torch  # only when ORT itself has a GPU build

        if torch.cuda.is_available():
            providers.insert(0, "CUDAExecutionProvider")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=providers)


class OrtRunner:
    """Logits from a uint8 NHWC batch through ONNX Runtime."""

    backend = "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.session = create_session(path, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.providers = self.session.get_providers()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class TorchRunner:
    """Logits from a uint8 NHWC batch through eager PyTorch, on the best device there is.

    ``model`` must take such pixels (``with_normalization``).
    """

    backend = "pytorch"

    def __init__(self, model: torch.nn.Module, device: str = "auto") -> None:
        from engine.core.devices import configure_cpu_threads, select_device

        self.device_info = select_device(device)
        if self.device_info.kind == "cpu":
            configure_cpu_threads()
        self.device = self.device_info.torch_device
        self.model = model.eval().to(self.device)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            tensor = torch.from_numpy(np.require(batch, requirements=["C", "W"]))
            tensor = tensor.to(self.device)
            return self.model(tensor).float().cpu().numpy()


Runner = Callable[[np.ndarray], np.ndarray]
