"""Using a Taxon model outside Taxon: standard exports that prove they match.

``export_model(model, out, fmt)`` writes the built-in model (``"builtin"``) or
a model package as

- ``onnx``: an image model as one self-contained ``.onnx`` (uint8 pixels in,
  probabilities out); a fast or fine-tuned text model as a folder with
  ``model.onnx``, ``tokenizer.json`` and ``labels.json``;
- ``torchscript``: an image model as one ``.pt``; a fine-tuned text model as a
  folder with ``model.pt``, ``tokenizer.json`` and ``labels.json``;

each with a README (inputs, outputs, labels, exact preprocessing, a short
example) in the interface language. Before anything is written, the export is
run on the package's validation items and compared with Taxon's own
classifier (``engine.deploy.parity``); a mismatch is refused with the figures.
The ``.taxon-model`` archive (format ``taxon``) stays in ``engine.models.package``.
"""

from __future__ import annotations

import os

from engine.core.i18n import N_
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.deploy.result import ExportResult
from engine.deploy.source import BUILTIN

__all__ = ["BUILTIN", "FORMATS", "ExportResult", "export_model"]

#: ``taxon`` is the ``.taxon-model`` archive, the others are standard formats.
FORMATS = ("taxon", "onnx", "torchscript")

MSG_BUILTIN_ARCHIVE = N_(
    "The built-in model is part of Taxon and cannot be packed as a "
    ".taxon-model file. Export it as ONNX or TorchScript instead."
)


def export_model(
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    fmt: str = "onnx",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export ``model`` (a package folder, a ``.taxon-model`` file or ``"builtin"``) to ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {FORMATS}")
    cancel = cancel or CancelToken()
    if fmt == "taxon":
        return _archive(model, out)
    from engine.deploy.source import load_source

    source = load_source(model)
    if source.kind == "ensemble":  # refused before any work when it cannot be one graph
        from engine.deploy.ensemble import check_exportable

        check_exportable(source)
    if fmt == "onnx" and source.task == "image":
        from engine.deploy.onnx_image import export_image_onnx

        return export_image_onnx(source, out, progress, cancel)
    if fmt == "onnx":
        from engine.deploy.onnx_text import export_text_onnx

        return export_text_onnx(source, out, progress, cancel)
    from engine.deploy.torchscript import export_torchscript

    return export_torchscript(source, out, progress, cancel)


def _archive(model: str | os.PathLike[str], out: str | os.PathLike[str]) -> ExportResult:
    from engine.models.package import write_archive

    if os.fspath(model) == BUILTIN:
        raise UserError(MSG_BUILTIN_ARCHIVE)
    target = write_archive(model, out)
    return ExportResult(target, "taxon", [target])
