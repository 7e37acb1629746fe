"""DistributedDataParallel glue for `torchrun` (NCCL on GPUs, gloo on CPUs).

Outside torchrun (no WORLD_SIZE in the environment) every function is a no-op on one process.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as tdist
from torch import nn


def is_distributed() -> bool:
    return tdist.is_available() and tdist.is_initialized()


def rank() -> int:
    return tdist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return tdist.get_world_size() if is_distributed() else 1


def init_from_env() -> bool:
    """Join the process group torchrun describes; returns True when running distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return is_distributed()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    tdist.init_process_group(backend=backend)
    return True


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DDP-wrap when distributed; the plain model otherwise."""
    if not is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    # find_unused_parameters: some heads (e.g. part classifiers switched off by a 0 loss weight) get no grad.
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def shard(items: list, seed_rank: int | None = None) -> list:
    """This rank's share of a list of batches (round-robin), all ranks getting equally many."""
    n = world_size()
    r = rank() if seed_rank is None else seed_rank
    usable = len(items) - len(items) % n
    return items[r:usable:n]


def cleanup() -> None:
    if is_distributed():
        tdist.destroy_process_group()
