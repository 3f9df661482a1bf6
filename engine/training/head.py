"""A linear head on fixed feature vectors: the "fast" mode of every task.

Images (built-in or local backbones) and texts (e5 or local encoders) all end
up here once their features are computed: a ``Linear(features, classes)``
trained by the shared loop on the CPU (it is small; the GPU would spend longer
copying than computing), with the loop's checkpoints, early stopping and seed.
The head is saved as ``classifier.weight`` / ``classifier.bias``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.training.config import TrainConfig
from engine.training.data import Prepared, class_weights
from engine.training.loop import LoopOutcome, LoopSpec
from engine.training.run import TrainRun


def loss_weights(prepared: Prepared, config: TrainConfig):
    """Class weights for the loss (None when the user switched balancing off)."""
    import torch

    if not config.class_weighting:
        return None
    return torch.from_numpy(class_weights(prepared.train_y, len(prepared.labels)))


def train_head(
    run: TrainRun, train_x: np.ndarray, val_x: np.ndarray
) -> tuple[LoopOutcome, dict[str, Any]]:
    """Fit the head on ``run.prepared``'s rows, whose features are ``train_x`` and ``val_x``;
    the loop's outcome and the head's tensors under their package names."""
    import torch

    prepared, config = run.prepared, run.config
    torch.manual_seed(config.seed)
    head = torch.nn.Linear(train_x.shape[1], len(prepared.labels))
    inputs = {
        "train": torch.from_numpy(np.ascontiguousarray(train_x, np.float32)),
        "validation": torch.from_numpy(np.ascontiguousarray(val_x, np.float32)),
    }
    targets = {
        "train": torch.from_numpy(prepared.train_y),
        "validation": torch.from_numpy(prepared.val_y),
    }

    def batches(split: str, order: list[int], batch_size: int, epoch: int):
        index = torch.tensor(order, dtype=torch.long)
        for start in range(0, len(order), batch_size):
            rows = index[start : start + batch_size]
            yield inputs[split][rows], targets[split][rows]

    spec = LoopSpec(
        head,
        list(head.parameters()),
        batches,
        prepared.train_y,
        prepared.val_y,
        len(prepared.labels),
        torch.device("cpu"),
        loss_weights(prepared, config),
    )
    outcome = run.loop(spec)
    return outcome, {
        "classifier.weight": outcome.best_state["weight"],
        "classifier.bias": outcome.best_state["bias"],
    }
