"""torchrun detection and process-group setup (nccl on GPU, gloo on CPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_master(self) -> bool:
        return self.rank == 0


def init() -> Dist:
    """Read RANK/WORLD_SIZE/LOCAL_RANK as torchrun sets them; single process when absent."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return Dist(rank, world, local, device)


def all_mean(x: torch.Tensor, d: Dist) -> torch.Tensor:
    x = x.detach().clone()
    if d.world_size > 1:
        torch.distributed.all_reduce(x)
        x /= d.world_size
    return x


def all_sum_counts(values: dict[str, int], d: Dist) -> dict[str, int]:
    """Sum per-reason counters over ranks (key sets may differ, so objects are gathered)."""
    if d.world_size == 1:
        return dict(values)
    parts: list = [None] * d.world_size
    torch.distributed.all_gather_object(parts, dict(values))
    out: dict[str, int] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = out.get(k, 0) + v
    return out
