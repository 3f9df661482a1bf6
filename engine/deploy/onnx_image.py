"""Image models as one self-contained ``.onnx`` file.

The graph takes uint8 ``pixels [N, H, W, 3]`` (after Taxon's resize and crop,
which the README spells out) and returns ``probabilities [N, C]``; scaling,
normalisation and softmax are inside (``engine.deploy.networks``). The file's
``metadata_props`` carry the labels and the preprocessing, so the file alone is
enough to use the model.

The legacy (TorchScript-based) exporter is used, as for Taxon's own ONNX
cache: the ``torch.export``-based one needs ``onnxscript``, which Taxon does
not ship, and the legacy one runs offline with what is installed.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.i18n import _
from engine.core.jobs import CancelToken, Progress, no_progress
from engine.deploy import networks, parity
from engine.deploy.readme import ReadmeFacts, render
from engine.deploy.result import MSG_CHECKING, MSG_CONVERTING, MSG_PREPARING, ExportResult
from engine.deploy.source import Source, image_samples, reference_classifier
from engine.deploy.target import file_target, write_files

if TYPE_CHECKING:
    import torch

#: Opset 17: understood by every onnxruntime since 1.14 and by the legacy exporter.
OPSET = 17


def export_image_onnx(
    source: Source,
    out: str | os.PathLike[str],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Write ``source`` (an image model) as ``.onnx`` + README, parity-checked first."""
    cancel = cancel or CancelToken()
    target = file_target(out, source.name, ".onnx")
    progress(0, None, _(MSG_PREPARING))
    samples = image_samples(source)
    reference = _reference(source, samples, progress, cancel)
    module = networks.image_module(source)
    cancel.raise_if_cancelled()
    progress(0, None, _(MSG_CONVERTING))
    payload = with_metadata(
        export_bytes(module, {"pixels": samples[:2]}, ["probabilities"], {"pixels": {0: "batch"}}),
        image_metadata(source),
    )
    cancel.raise_if_cancelled()
    progress(0, None, _(MSG_CHECKING))
    checked = parity.compare(reference, parity.run_onnx(payload, {"pixels": samples}))
    facts = ReadmeFacts(
        "onnx",
        "image",
        source.name,
        source.model_id,
        source.labels,
        target.model.name,
        source.preprocess,
    )
    write_files(target, payload, render(facts))
    return ExportResult(target.model, "onnx", target.files(), checked.to_json())


def _reference(
    source: Source, samples: np.ndarray, progress: Progress, cancel: CancelToken
) -> np.ndarray:
    """Taxon's own probabilities for ``samples`` (what ``classify`` answers)."""
    classifier = reference_classifier(source, progress, cancel)
    try:
        return np.concatenate(
            [
                classifier.predict_batch(samples[start : start + 16])
                for start in range(0, len(samples), 16)
            ]
        )
    finally:
        classifier.close()


def image_metadata(source: Source) -> dict[str, str]:
    """The ``metadata_props`` of an image export (strings, as ONNX requires)."""
    settings = source.preprocess
    size = int(settings["size"])
    shorter = max(int(settings["resize_shorter"]), size)
    rule = (
        f"EXIF-orient, convert to RGB, resize the shorter side to {shorter} px (bicubic), "
        f"centre-crop {size}x{size}"
    )
    return {
        **common_metadata(source),
        "input_size": str(size),
        "resize_shorter": str(shorter),
        "resize_rule": rule,
        "interpolation": str(settings.get("interpolation", "bicubic")),
        "mean": json.dumps([float(v) for v in settings.get("mean", (0.5,) * 3)]),
        "std": json.dumps([float(v) for v in settings.get("std", (0.5,) * 3)]),
    }


def common_metadata(source: Source) -> dict[str, str]:
    from engine.core.about import app_version

    return {
        "labels": json.dumps(source.labels, ensure_ascii=False),
        "taxon_model_id": source.model_id,
        "taxon_model_name": source.name,
        "taxon_model_kind": source.kind,
        "taxon_version": app_version(),
    }


def export_bytes(
    module: torch.nn.Module,
    example: dict[str, np.ndarray],
    outputs: list[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes:
    """``module`` as ONNX bytes (inputs named and ordered as ``example``)."""
    import torch

    names = list(example)
    axes: dict[str, Any] = {**dynamic_axes, **{name: {0: "batch"} for name in outputs}}
    buffer = io.BytesIO()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notes are not for users
        torch.onnx.export(
            module,
            tuple(torch.from_numpy(np.ascontiguousarray(example[name])) for name in names),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def with_metadata(payload: bytes, metadata: dict[str, str]) -> bytes:
    """``payload`` with ``metadata`` as its ``metadata_props`` and Taxon as its producer."""
    import onnx

    from engine.core.about import app_version

    model = onnx.load_model_from_string(payload)
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name, model.producer_version = "Taxon", app_version()
    return model.SerializeToString()
