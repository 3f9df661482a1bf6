"""Fault injection, so the tests can prove what happens when a GPU runs out of memory,
a loss turns into NaN, or a save fails, on a machine that has no GPU.

Faults come from a ``Faults`` object passed to the trainer, or from the
``TAXON_FAULTS`` environment variable (for a trainer in another process), e.g.
``oom@3,nan@7,slow@0.5``: an out-of-memory error before global step 3 (once),
a NaN loss at step 7, and a 0.5 s sleep in every step (to kill a run mid-way).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

ENV = "TAXON_FAULTS"


@dataclass
class Faults:
    oom_at_steps: set[int] = field(default_factory=set)
    nan_at_step: int | None = None
    slow_s: float = 0.0

    @classmethod
    def from_env(cls) -> Faults:
        faults = cls()
        for part in filter(None, os.environ.get(ENV, "").split(",")):
            name, _at, value = part.partition("@")
            if name == "oom":
                faults.oom_at_steps.add(int(value))
            elif name == "nan":
                faults.nan_at_step = int(value)
            elif name == "slow":
                faults.slow_s = float(value)
        return faults

    @property
    def any(self) -> bool:
        return bool(self.oom_at_steps) or self.nan_at_step is not None or self.slow_s > 0

    def before_step(self, global_step: int) -> None:
        if self.slow_s:
            time.sleep(self.slow_s)
        if global_step in self.oom_at_steps:
            import torch

            self.oom_at_steps.discard(global_step)
            raise torch.OutOfMemoryError("CUDA out of memory (simulated by TAXON_FAULTS)")

    def corrupt_loss(self, global_step: int, loss):
        if self.nan_at_step is not None and global_step >= self.nan_at_step:
            return loss * float("nan")
        return loss
