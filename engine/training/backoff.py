"""Out-of-memory back-off: halve the batch size and redo the epoch from its start.

A GPU that runs out of memory mid-epoch must not end a long run, and the
epoch must not go on from a half-trained state with a different batch size:
so the weights, optimizer state, RNG and step count are kept as the epoch
began (on the CPU, only where memory can run out) and put back before the
epoch is tried again with half the batch. One example per batch that still
does not fit ends the run with a message saying what to do.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.core.i18n import N_, Message
from engine.core.jobs import UserError

MSG_OOM = N_("The GPU ran out of memory: the batch size is now {size} and training goes on.")
MSG_OOM_FATAL = N_(
    "The GPU ran out of memory even with one example per batch. Choose the CPU or a smaller model."
)


class Epochs(Protocol):
    """What the back-off needs of the loop's run state."""

    spec: Any  # the loop's LoopSpec: ``model`` (not its DDP wrapper) and ``device``
    optimizer: Any
    batch_size: int
    global_step: int

    def model_state(self) -> dict[str, Any]: ...
    def note(self, message: Message) -> None: ...


@dataclass
class EpochStart:
    """The state an epoch began from, on the CPU."""

    model: dict[str, Any]
    rng: Any
    optimizer: dict[str, Any]
    global_step: int

    @classmethod
    def take(cls, run: Epochs) -> EpochStart:
        import torch

        return cls(
            run.model_state(),
            torch.get_rng_state(),
            copy.deepcopy(_to_cpu(run.optimizer.state_dict())),
            run.global_step,
        )

    def restore(self, run: Epochs) -> None:
        import torch

        run.spec.model.load_state_dict(self.model)
        run.optimizer.load_state_dict(self.optimizer)
        torch.set_rng_state(self.rng)
        run.global_step = self.global_step


def with_backoff(
    run: Epochs, train_epoch: Callable[[], tuple[float, float]], may_run_out: bool
) -> tuple[float, float]:
    """``train_epoch()``, retried with half the batch after each out-of-memory error.

    ``may_run_out``: whether to keep the epoch's start (on a GPU, or with injected faults);
    without it an out-of-memory error cannot be recovered from.
    """
    import torch

    start = EpochStart.take(run) if may_run_out else None
    while True:
        try:
            return train_epoch()
        except torch.OutOfMemoryError:
            if start is None or run.batch_size <= 1:
                raise UserError(MSG_OOM_FATAL) from None
            run.optimizer.zero_grad(set_to_none=True)
            if run.spec.device.type == "cuda":
                torch.cuda.empty_cache()
            start.restore(run)
            run.batch_size = max(1, run.batch_size // 2)
            run.note(Message(MSG_OOM, {"size": run.batch_size}))


def _to_cpu(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value
