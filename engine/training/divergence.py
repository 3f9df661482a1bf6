"""NaN and explosion stops: a run whose loss diverges ends with a message, not bad weights.

A loss that is NaN or infinite, or more than 25 times the first finite loss (and
over 100), stops the run before the optimiser step, so bad gradients never reach
the weights; weights that are not finite are never checkpointed. The message
names the loss, which must print at any size (``format_loss``, also used by the
command line's progress lines), so the check lives apart from the loop itself.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from engine.core.i18n import N_, format_number
from engine.core.jobs import UserError

MSG_DIVERGED = N_(
    "Training stopped at step {step}: the loss became {loss}. The learning rate "
    "is probably too high for this data. The last good checkpoint was kept."
)

#: From here on a loss is shown as 1.2e+30: the locale formatter's decimals overflow near 1e28.
_PLAIN_LOSS_LIMIT = 1e6


def format_loss(value: float, decimals: int | None = None) -> str:
    """A loss for people: NaN, ∞ and huge values print instead of failing to format."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if abs(value) >= _PLAIN_LOSS_LIMIT:
        return f"{value:.3g}"
    return format_number(value, decimals)


class LossWatch(Protocol):
    """What the check needs of the loop's run state."""

    first_loss: float | None
    global_step: int


def check_loss(run: LossWatch, value: float) -> None:
    """Raise ``MSG_DIVERGED`` for a NaN, infinite or exploding loss; keeps the first finite one."""
    if run.first_loss is None and math.isfinite(value):
        run.first_loss = value
    limit = max(100.0, 25.0 * (run.first_loss or 0.0))
    if not math.isfinite(value) or value > limit:
        raise UserError(
            MSG_DIVERGED,
            details=f"loss={value!r} at global step {run.global_step}",
            step=run.global_step + 1,
            loss=format_loss(value),
        )


def finite(state: dict[str, Any]) -> bool:
    import torch

    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())
