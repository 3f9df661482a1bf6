"""TorchScript exports (``torch.jit.trace``) for PyTorch users.

Image models become one ``.pt`` (uint8 pixels in, probabilities out, the
labels inside as the extra file ``labels.json``); fine-tuned text models a
folder with ``model.pt`` (token ids + attention mask in), ``tokenizer.json`` and
``labels.json``. Fast text models are refused: their encoder is the shared
backbone, which ONNX exports whole but tracing ties to one text length in some
architectures, so only ONNX is offered for them. The same parity check as for
ONNX runs on the file loaded back from its bytes.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.deploy import networks, parity
from engine.deploy.onnx_image import _reference as image_reference
from engine.deploy.onnx_image import common_metadata, image_metadata
from engine.deploy.onnx_text import (
    README_FILE,
    encode,
    folder_output,
    prepare_text_export,
    refuse_instant,
)
from engine.deploy.readme import ReadmeFacts, render
from engine.deploy.result import MSG_CHECKING, MSG_CONVERTING, MSG_PREPARING, ExportResult
from engine.deploy.source import Source, image_samples
from engine.deploy.target import file_target, folder_target, write_files, write_into

if TYPE_CHECKING:
    import torch

MODEL_FILE = "model.pt"
MSG_NOT_TRACEABLE = N_(
    "The model “{name}” cannot be exported as TorchScript; only image models "
    "and fine-tuned text models can. Export it as ONNX instead."
)


def export_torchscript(
    source: Source,
    out: str | os.PathLike[str],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Trace ``source`` to TorchScript, check it against Taxon, and write it."""
    cancel = cancel or CancelToken()
    if source.task == "image":
        return _image(source, out, progress, cancel)
    refuse_instant(source, "TorchScript")
    if source.kind != "text-finetuned":
        raise UserError(MSG_NOT_TRACEABLE, details=f"kind={source.kind!r}", name=source.name)
    return _text(source, out, progress, cancel)


def _image(source: Source, out, progress: Progress, cancel: CancelToken) -> ExportResult:
    import torch

    target = file_target(out, source.name, ".pt")
    progress(0, None, _(MSG_PREPARING))
    samples = image_samples(source)
    reference = image_reference(source, samples, progress, cancel)
    module = networks.image_module(source)
    cancel.raise_if_cancelled()
    progress(0, None, _(MSG_CONVERTING))
    extra = {
        "labels.json": json.dumps(source.labels, ensure_ascii=False),
        "taxon.json": json.dumps(image_metadata(source), ensure_ascii=False),
    }
    payload = _save(_trace(module, (torch.from_numpy(samples[:2]),)), extra)
    cancel.raise_if_cancelled()
    progress(0, None, _(MSG_CHECKING))
    loaded = _load(payload)
    with torch.inference_mode():
        exported = np.concatenate(
            [
                loaded(torch.from_numpy(samples[start : start + 16])).numpy()
                for start in range(0, len(samples), 16)
            ]
        )
    checked = parity.compare(reference, exported)
    facts = ReadmeFacts(
        "torchscript",
        "image",
        source.name,
        source.model_id,
        source.labels,
        target.model.name,
        source.preprocess,
    )
    write_files(target, payload, render(facts))
    return ExportResult(target.model, "torchscript", target.files(), checked.to_json())


def _text(source: Source, out, progress: Progress, cancel: CancelToken) -> ExportResult:
    import torch

    with folder_target(out, source.location) as stage:
        prepared = prepare_text_export(source, stage, progress, cancel)
        texts, tokenizer = prepared.texts, prepared.tokenizer
        prefix, max_tokens = prepared.prefix, prepared.max_tokens
        metadata = {**common_metadata(source), "prefix": prefix, "max_tokens": str(max_tokens)}
        payload = _save(
            _trace(
                prepared.module, (torch.from_numpy(prepared.ids), torch.from_numpy(prepared.mask))
            ),
            {"taxon.json": json.dumps(metadata, ensure_ascii=False)},
        )
        write_into(stage, MODEL_FILE, payload)
        progress(0, None, _(MSG_CHECKING))
        loaded, rows = _load(payload), []
        with torch.inference_mode():
            for start in range(0, len(texts), 16):
                ids, mask = encode(tokenizer, prefix, texts[start : start + 16])
                rows.append(loaded(torch.from_numpy(ids), torch.from_numpy(mask)).numpy())
        checked = parity.compare(prepared.reference, np.concatenate(rows))
        facts = ReadmeFacts(
            "torchscript",
            "text",
            source.name,
            source.model_id,
            source.labels,
            MODEL_FILE,
            source.preprocess,
            prefix,
            max_tokens,
        )
        write_into(stage, README_FILE, render(facts).encode("utf-8"))
        names = sorted(path.name for path in stage.iterdir())
    output = folder_output(out)
    return ExportResult(output, "torchscript", [output / name for name in names], checked.to_json())


def _trace(module: torch.nn.Module, example: tuple[Any, ...]) -> Any:
    import torch

    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation notes are not for users
        return torch.jit.trace(module, example, strict=False, check_trace=False)


def _save(traced: Any, extra: dict[str, str]) -> bytes:
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation note is for us, not users
        torch.jit.save(traced, buffer, _extra_files=extra)
    return buffer.getvalue()


def _load(payload: bytes) -> Any:
    """The saved file loaded back (TorchScript's own loader; a file Taxon just wrote)."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.load(io.BytesIO(payload), map_location="cpu").eval()
    except Exception as error:  # noqa: BLE001 - a trace that does not load back is refused
        raise UserError(
            parity.MSG_CANNOT_RUN, details=f"{type(error).__name__}: {error}"[:2000]
        ) from error
