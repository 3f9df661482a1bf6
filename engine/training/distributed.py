"""Running unchanged under ``torchrun --nproc_per_node N``: one process per GPU.

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; when it has, the
trainer joins the process group (NCCL on CUDA, gloo on the CPU), wraps the
model in DistributedDataParallel, gives each rank its share of every epoch's
shuffled order, and only rank 0 writes checkpoints and the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return World()
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def init(world: World, device_kind: str) -> None:
    """Join the process group torchrun describes (idempotent)."""
    import torch.distributed as dist

    if not world.distributed or dist.is_initialized():
        return
    backend = "nccl" if device_kind == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)


def shard(order: list[int], world: World) -> list[int]:
    """This rank's part of an epoch's order; every rank gets the same number of items."""
    if not world.distributed:
        return order
    usable = len(order) - len(order) % world.size
    return order[:usable][world.rank :: world.size]


def wrap(model, world: World, device):
    if not world.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        return DistributedDataParallel(model, device_ids=[device.index])
    return DistributedDataParallel(model)


def barrier(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
