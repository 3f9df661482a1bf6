"""The parity check every export passes before it is kept.

An exported model is used where Taxon is not there to notice a mistake, so it
is compared with Taxon's own classifier on the package's validation items
(see ``engine.deploy.source``): every top-1 label must agree and no
probability may differ by more than ``TOLERANCE``. The export side runs the
way a user runs it: a bare ONNX Runtime session on the CPU (no Taxon
settings), or the TorchScript file loaded back. A failure is a translated
refusal that gives the figures; the caller then removes the partial output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.i18n import N_
from engine.core.jobs import UserError

#: Largest allowed difference of any probability between Taxon and the export.
TOLERANCE = 1e-4

MSG_MISMATCH = N_(
    "The exported model does not give the same answers as Taxon, so it was not "
    "saved: the top label agreed on {agreed} of {total} validation examples and "
    "the largest probability difference was {difference} (at most {tolerance} "
    "is allowed)."
)
MSG_CANNOT_RUN = N_("The exported model could not be run to check it, so it was not saved.")


@dataclass(frozen=True)
class Parity:
    """What the check measured: examples compared, top-1 agreements, the largest gap."""

    checked: int
    agreed: int
    max_difference: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "checked": self.checked,
            "top1_agreed": self.agreed,
            "max_difference": self.max_difference,
            "tolerance": TOLERANCE,
        }


def compare(reference: np.ndarray, exported: np.ndarray) -> Parity:
    """Measure ``exported`` against ``reference`` (both (N, C) probabilities); refuse if off."""
    reference = np.asarray(reference, dtype=np.float64)
    exported = np.asarray(exported, dtype=np.float64)
    if exported.shape != reference.shape or not np.isfinite(exported).all():
        raise UserError(
            MSG_CANNOT_RUN,
            details=f"output shape {exported.shape}, expected {reference.shape} (finite)",
        )
    agreed = int((exported.argmax(1) == reference.argmax(1)).sum())
    difference = float(np.max(np.abs(exported - reference))) if exported.size else 0.0
    parity = Parity(len(reference), agreed, difference)
    if agreed != len(reference) or not difference <= TOLERANCE:
        raise UserError(
            MSG_MISMATCH,
            details=str(parity.to_json()),
            agreed=agreed,
            total=len(reference),
            difference=f"{difference:.2e}",
            tolerance=f"{TOLERANCE:.0e}",
        )
    return parity


def bare_session(model: bytes | str):
    """An ONNX Runtime session as a user's script makes one: CPU, default options."""
    from engine.models.backbones.onnx_runtime import import_onnxruntime

    ort = import_onnxruntime()  # telemetry off, as everywhere in Taxon
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def run_onnx(
    model: bytes | str, batches: dict[str, np.ndarray] | list[dict[str, np.ndarray]]
) -> np.ndarray:
    """The first output of ``model`` on each batch of inputs, concatenated; any failure is
    ``MSG_CANNOT_RUN``."""
    batches = [batches] if isinstance(batches, dict) else batches
    try:
        session = bare_session(model)
        return np.concatenate([session.run(None, inputs)[0] for inputs in batches])
    except Exception as error:  # an export ORT cannot run is refused, not a crash
        raise UserError(
            MSG_CANNOT_RUN, details=f"{type(error).__name__}: {error}"[:2000]
        ) from error
