"""Small models train on one CPU thread: OpenMP hand-offs cost more than a head's ops.

The loop wraps every run in ``cpu_threads_for``; only a model of up to
``SMALL_MODEL_PARAMETERS`` on the CPU is affected, and the caller's thread
setting comes back afterwards. Apart from the loop because it is a measured
performance rule (docs/performance.md, "Training"), not part of training itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Up to this many parameters a model trains on one CPU thread (heads: 1280 x classes).
SMALL_MODEL_PARAMETERS = 1_000_000


@contextmanager
def cpu_threads_for(spec: Any) -> Iterator[None]:
    """One intra-op thread while a small model trains on the CPU, then the caller's setting.

    A linear head's ops take microseconds; handing each to a second OpenMP thread
    costs more than it saves, and far more when another program holds a core (the
    fast-mode head trained 15x slower with two threads on a busy 2-core machine;
    see docs/performance.md, "Training").

    ``spec``: the loop's ``LoopSpec`` (its ``model`` and ``device``).
    """
    import torch

    small = sum(p.numel() for p in spec.model.parameters()) <= SMALL_MODEL_PARAMETERS
    if spec.device.type != "cpu" or not small or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
