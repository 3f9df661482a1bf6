"""The loop's state in a checkpoint: what an epoch's checkpoint holds, and resuming from it.

A resumed run must go on exactly as if it had never stopped: the model, the
optimiser's moments, the torch RNG, the step count, the history, the batch size
(after any out-of-memory back-off) and the early-stopping bookkeeping (best
loss, epoch, weights and validation probabilities) all go into the checkpoint
and come back from it. ``engine.training.checkpoint`` makes the files safe on
disk; this module decides what goes into them, apart from the epoch loop that
only calls ``resume`` once and ``save_checkpoint`` after each epoch.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from engine.core.i18n import N_, Message
from engine.core.jobs import UserError
from engine.training.checkpoint import CheckpointStore, flatten_optimizer, unflatten_optimizer
from engine.training.divergence import MSG_DIVERGED, finite

MSG_RESUMED = N_("Resumed from the checkpoint after epoch {epoch}.")


class LoopState(Protocol):
    """What a checkpoint holds of the loop's run state, and what saving it needs."""

    spec: Any  # the loop's LoopSpec: ``model`` (not its DDP wrapper)
    store: CheckpointStore | None
    world: Any  # distributed.World: only the main process writes
    optimizer: Any
    epoch: int
    global_step: int
    history: list[dict[str, Any]]
    batch_size: int
    best_loss: float
    best_epoch: int
    bad_epochs: int
    best_state: dict[str, Any] | None
    best_probs: np.ndarray | None
    resumed_from: int | None

    def model_state(self) -> dict[str, Any]: ...
    def note(self, message: Message) -> None: ...


def resume(run: LoopState) -> None:
    """Put back the state of the store's latest checkpoint, if there is one."""
    import torch

    checkpoint = run.store.latest() if run.store is not None else None
    if checkpoint is None:
        return
    tensors, state = checkpoint.tensors, checkpoint.state
    run.spec.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    run.optimizer.load_state_dict(unflatten_optimizer(tensors, state["optimizer"]))
    torch.set_rng_state(tensors["rng.torch"])
    run.best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    run.best_probs = tensors["best_probs"].numpy()
    run.epoch, run.global_step = checkpoint.epoch, int(state["global_step"])
    run.history, run.batch_size = list(state["history"]), int(state["batch_size"])
    run.best_loss, run.best_epoch = float(state["best_loss"]), int(state["best_epoch"])
    run.bad_epochs = int(state["bad_epochs"])
    run.resumed_from = checkpoint.epoch
    run.note(Message(MSG_RESUMED, {"epoch": checkpoint.epoch}))


def save_checkpoint(run: LoopState) -> None:
    """Write the state after ``run.epoch`` epochs (the main process only, with a store)."""
    import torch

    if run.store is None or not run.world.main:
        return
    model = run.model_state()
    if not finite(model):  # never write non-finite weights; the last good checkpoint stays
        raise UserError(MSG_DIVERGED, step=run.global_step, loss="NaN")
    optim_tensors, optim_rest = flatten_optimizer(run.optimizer.state_dict())
    tensors = {f"model.{k}": v for k, v in model.items()}
    tensors.update({f"best.{k}": v for k, v in (run.best_state or {}).items()})
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["best_probs"] = torch.from_numpy(np.ascontiguousarray(run.best_probs))
    run.store.save(
        run.epoch,
        tensors,
        {
            "optimizer": optim_rest,
            "global_step": run.global_step,
            "history": run.history,
            "batch_size": run.batch_size,
            "best_loss": run.best_loss,
            "best_epoch": run.best_epoch,
            "bad_epochs": run.bad_epochs,
        },
    )
