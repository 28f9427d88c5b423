"""Training on several processes with ``torchrun``, over :mod:`torch.distributed`.

Which process this is, who writes, and the collective operations the training loop needs. Outside
``torchrun`` (or with one process) every function here answers "rank 0 of 1" and does nothing else,
so the package calls them unconditionally. docs/performance.md says how training is shared.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

__all__ = ["rank_world", "local_rank", "is_writer", "active", "setup", "average_gradients", "broadcast_module",
           "broadcast_object", "all_gather_object", "average", "barrier", "store", "TIMEOUT"]

#: How long a collective waits for the other processes before failing (a process that died).
TIMEOUT = dt.timedelta(minutes=30)


def rank_world() -> tuple[int, int]:
    """This process's rank and the number of processes.

    Returns:
        ``(rank, world size)``: the process group's when there is one, else ``torchrun``'s ``RANK``
        and ``WORLD_SIZE``, else ``(0, 1)``.

    Raises:
        ValueError: ``RANK`` or ``WORLD_SIZE`` is not an integer, or ``RANK`` is out of range.

    Example:
        >>> rank_world(), is_writer()
        ((0, 1), True)
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError as e:
        raise ValueError(f"RANK and WORLD_SIZE must be integers; got {os.environ.get('RANK')!r}, "
                         f"{os.environ.get('WORLD_SIZE')!r}") from e
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"need 0 <= RANK < WORLD_SIZE; got RANK={rank}, WORLD_SIZE={world}")
    return rank, world


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK``; 0 outside ``torchrun``): its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_writer() -> bool:
    """Whether this process writes files (checkpoints, results, progress): rank 0 only."""
    return rank_world()[0] == 0


def active() -> bool:
    """Whether there is a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def setup(device: torch.device, timeout: dt.timedelta = TIMEOUT) -> tuple[int, int]:
    """Join the process group ``torchrun`` describes, once; with one process nothing is started.

    Args:
        device: this process's device: NCCL on CUDA, gloo otherwise.
        timeout: how long each collective waits for the others (a process that died).

    Returns:
        ``(rank, world size)``.

    Raises:
        RuntimeError: several processes, and this PyTorch has no :mod:`torch.distributed`.
    """
    rank, world = rank_world()
    if world == 1 or dist.is_initialized():
        return rank, world
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world} but this PyTorch has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    kw: dict[str, Any] = {"device_id": device} if device.type == "cuda" and device.index is not None else {}
    dist.init_process_group(backend, timeout=timeout, **kw)
    return dist.get_rank(), dist.get_world_size()


def average_gradients(params: Iterable[Tensor]) -> None:
    """Average the gradients of ``params`` over the processes, in place, as ``DistributedDataParallel`` does.

    One all-reduce of one flat buffer per dtype and device, after a small one that says which
    parameters have a gradient anywhere. A parameter with a gradient on some processes only (a
    branch the data skips there) gets zeros where it has none, as DDP treats it; one with a gradient
    nowhere keeps none (the optimiser skips it everywhere). With one process nothing happens.

    Args:
        params: the parameters; those that do not require a gradient are left out.

    Example:
        >>> p = torch.nn.Parameter(torch.ones(2)); p.grad = torch.full((2,), 3.0)
        >>> average_gradients([p]); p.grad.tolist()   # one process: unchanged
        [3.0, 3.0]
    """
    if not active():
        return
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    world = dist.get_world_size()
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=params[0].device)
    dist.all_reduce(present)
    for p, anywhere in zip(params, present.tolist(), strict=True):
        if anywhere and p.grad is None:
            p.grad = torch.zeros_like(p)
    groups: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for p in params:
        if p.grad is not None:
            groups.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
    for group in groups.values():
        flat = _flatten_dense_tensors(group)
        dist.all_reduce(flat)
        flat.div_(world)
        for g, synced in zip(group, _unflatten_dense_tensors(flat, group), strict=True):
            g.copy_(synced)


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (as DDP does when it is built).

    Args:
        module: the module, changed in place.
    """
    if not active():
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, 0)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process.

    Args:
        obj: any picklable value; only rank 0's counts.

    Returns:
        Rank 0's value.
    """
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, 0)
    return box[0]


def all_gather_object(obj: Any) -> list[Any]:
    """Every process's ``obj``.

    Args:
        obj: any picklable value.

    Returns:
        The values in rank order (``[obj]`` with one process).
    """
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def average(t: Tensor) -> Tensor:
    """``t`` averaged over the processes.

    Args:
        t: a tensor of the same shape on every process.

    Returns:
        A new tensor; ``t`` itself with one process.
    """
    if not active():
        return t
    out = t.detach().clone()
    dist.all_reduce(out)
    return out.div_(dist.get_world_size())


def store() -> Any:
    """The process group's key-value store (``None`` with one process): flags between processes
    that must not wait for one another."""
    if not active():
        return None
    return dist.distributed_c10d._get_default_store()


def barrier() -> None:
    """Wait until every process gets here."""
    if active():
        dist.barrier()
