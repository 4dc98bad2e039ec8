"""torchrun detection and process-group setup (nccl on GPU, gloo on CPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from hqclip.errors import UserError

DEVICES = ("auto", "cuda", "cpu")


@dataclass
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_master(self) -> bool:
        return self.rank == 0

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"


def _use_cuda(want: str, world: int, local: int) -> bool:
    """Whether to train on CUDA (`--device`); a GPU asked for (`cuda`, or several torchrun processes
    without `--device cpu`) but not usable is refused: a CUDA build whose driver is too old reports
    no GPU, and would otherwise train on CPU without a word."""
    if want not in DEVICES:
        raise UserError(f"--device {want!r}: choose one of {', '.join(DEVICES)}")
    usable = torch.cuda.is_available()
    why = (
        f"torch {torch.__version__} sees no usable GPU (none here, or a driver too old for CUDA "
        f"{torch.version.cuda})"
    )
    if want == "cuda" and not usable:
        raise UserError(f"--device cuda: {why}; check nvidia-smi, or train on CPU with --device cpu")
    if want == "auto" and world > 1 and not usable:
        raise UserError(
            f"{world} torchrun processes but {why}; fix the GPU setup, or pass --device cpu to train on CPU"
        )
    if usable and want != "cpu" and local >= torch.cuda.device_count():
        raise UserError(
            f"LOCAL_RANK {local} but {torch.cuda.device_count()} visible GPUs; "
            "start at most one process per GPU (torchrun --nproc_per_node)"
        )
    return usable and want != "cpu"


def init(want: str = "auto") -> Dist:
    """Read RANK/WORLD_SIZE/LOCAL_RANK as torchrun sets them (single process when absent) and pick
    the device as `--device` says (auto: the rank's GPU if CUDA is usable, else the CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = _use_cuda(want, world, local)
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    d = Dist(rank, world, local, device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(d.backend)
    return d


def finish(d: Dist) -> None:
    """End the process group after every rank got here (rank 0's last checkpoint is written)."""
    if d.world_size > 1 and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def from_master(value: Any, d: Dist) -> Any:
    """Rank 0's `value` on every rank."""
    if d.world_size == 1:
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def gathered(value: Any, d: Dist) -> list[Any]:
    """Every rank's `value`, in rank order."""
    if d.world_size == 1:
        return [value]
    parts: list = [None] * d.world_size
    torch.distributed.all_gather_object(parts, value)
    return parts


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
    out: dict[str, int] = {}
    for p in gathered(dict(values), d):
        for k, v in p.items():
            out[k] = out.get(k, 0) + v
    return out
