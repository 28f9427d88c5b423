"""Reproducible batching: step-indexed training batches that resume exactly, and loaders.

The batch of step ``s`` depends only on the seed and ``s``, so a run resumed at step ``k`` sees
the batches it would have seen. Batches are moved to a device, and their colour conversion can
run there.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from ..distributed import rank_world
from .datasets import ColorDataset

__all__ = ["StepBatchSampler", "make_loader", "default_workers", "complete", "COLOUR_KEYS", "to_device"]


def _mix(*xs: int) -> int:
    """A 62-bit hash of integers (splitmix64 chain), stable across runs and platforms."""
    z = 0x9E3779B97F4A7C15
    for x in xs:
        z = (z ^ (x & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
    return z >> 2


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Infinite batches of ``(index, aug_seed)`` keys; step ``s``'s batch depends only on the seed and ``s``.

    Items are drawn without replacement through a fresh permutation per epoch (epoch ``e``
    permutes with a seed mixed from ``seed`` and ``e``); batches run on across epoch ends. Starting
    at ``start_step=k`` resumes a run exactly at step ``k``.

    Args:
        n_items: the number of items in the dataset.
        batch_size: the global batch size.
        seed: the seed of the permutations and of the augmentation seeds.
        start_step: the first step to yield.
        shard: ``(rank, world)``. With several training processes (:mod:`colorlab.distributed`)
            this process gets its ``rank``-th contiguous ``batch_size / world`` of each step's
            keys, so the processes together see exactly the batch one process would.

    Raises:
        ValueError: for sizes below 1, a negative start, or a batch that ``world`` does not divide.

    Example:
        >>> a = StepBatchSampler(10, 4, seed=0)
        >>> b = StepBatchSampler(10, 4, seed=0, start_step=3)
        >>> it = iter(a); _ = [next(it) for _ in range(3)]
        >>> next(it) == next(iter(b))
        True
        >>> halves = [next(iter(StepBatchSampler(10, 4, seed=0, shard=(r, 2)))) for r in (0, 1)]
        >>> halves[0] + halves[1] == next(iter(a))
        True
    """

    def __init__(self, n_items: int, batch_size: int, seed: int = 0, start_step: int = 0,
                 shard: tuple[int, int] = (0, 1)) -> None:
        if n_items < 1 or batch_size < 1 or start_step < 0:
            raise ValueError(f"need n_items, batch_size >= 1 and start_step >= 0; got "
                             f"{n_items}, {batch_size}, {start_step}")
        rank, world = shard
        if world < 1 or not 0 <= rank < world or batch_size % world:
            raise ValueError(f"a batch of {batch_size} cannot be shared by {world} training processes (rank {rank}): "
                             f"give a batch size that is a multiple of the number of processes")
        self.n_items, self.batch_size, self.seed, self.start_step = n_items, batch_size, seed, start_step
        self.shard = (rank, world)
        self._perm: tuple[int, list[int]] = (-1, [])

    def _order(self, epoch: int) -> list[int]:
        if self._perm[0] != epoch:
            g = torch.Generator().manual_seed(_mix(self.seed, epoch))
            self._perm = (epoch, torch.randperm(self.n_items, generator=g).tolist())
        return self._perm[1]

    def batch(self, step: int) -> list[tuple[int, int]]:
        """The keys of a step.

        Args:
            step: the step, 0-based.

        Returns:
            The whole global batch's ``(index, aug_seed)`` keys, ``batch_size`` of them.
        """
        out = []
        for pos in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, k = divmod(pos, self.n_items)
            out.append((self._order(epoch)[k], _mix(self.seed, 1, step, pos)))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        rank, world = self.shard
        part = self.batch_size // world
        while True:
            yield self.batch(step)[rank * part:(rank + 1) * part]
            step += 1


def make_loader(dataset: ColorDataset, batch_size: int, *, train: bool, seed: int | None = None,
                start_step: int = 0, num_workers: int | None = None,
                device: str | torch.device | None = None, colour_on_device: bool | None = None) -> DataLoader:
    """Make a DataLoader over a :class:`~colorlab.data.datasets.ColorDataset`.

    For training it yields infinite :class:`StepBatchSampler` batches; under ``torchrun`` each
    process gets its share of every global batch of ``batch_size``. For testing it makes one
    sequential pass. Memory is pinned only for a CUDA device. With ``colour_on_device`` the items
    are RGB only and the training loop converts each batch on the device (:func:`complete`),
    sparing the workers the colour conversion.

    Args:
        dataset: the dataset.
        batch_size: the (global) batch size.
        train: infinite training batches, or one pass over the test items.
        seed: the sampler's seed (``None``: ``dataset.seed``).
        start_step: the first training step, to resume a run.
        num_workers: DataLoader workers (``None``: 0 for images in memory, else
            :func:`default_workers`).
        device: the device the batches go to (``None``: CUDA when available).
        colour_on_device: leave the colour conversion to the device (``None``: for CUDA training
            batches without a ``context``).

    Returns:
        The DataLoader; its batches are dicts of stacked items.

    Example:
        >>> from colorlab.data import load_dataset
        >>> batch = next(iter(make_loader(load_dataset(), 8, train=True)))
        >>> batch["rgb"].shape
        torch.Size([8, 3, 64, 64])
    """
    if num_workers is None:
        num_workers = 0 if dataset.images.in_memory else default_workers()
    cuda = torch.device(device).type == "cuda" if device is not None else torch.cuda.is_available()
    if colour_on_device is None:
        colour_on_device = cuda and train and dataset.context is None
    if colour_on_device and dataset.space != "rgb":
        dataset = copy.copy(dataset)  # the same images and crops, items without the colour conversion
        dataset.space = "rgb"
    kw: dict[str, Any] = dict(num_workers=num_workers, pin_memory=cuda and torch.cuda.is_available(),
                              persistent_workers=num_workers > 0)
    if train:
        sampler = StepBatchSampler(len(dataset), batch_size, dataset.seed if seed is None else seed, start_step,
                                   shard=rank_world())
        return DataLoader(dataset, batch_sampler=sampler, **kw)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, **kw)


def default_workers() -> int:
    """The number of DataLoader workers for files decoded on the fly.

    This process's share of the CPUs it may use (``sched_getaffinity``; under ``torchrun``,
    divided among the processes on the machine), less one for the training loop.

    Returns:
        The number of workers, at least 1 and at most 8.

    Example:
        >>> 1 <= default_workers() <= 8
        True
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cpus // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(8, per_process - 1))


#: The luminance and chroma keys of a batch in each colour space.
COLOUR_KEYS = {"lab": ("L", "ab"), "yuv": ("Y", "uv")}


def complete(batch: dict[str, Any], space: str) -> dict[str, Any]:
    """Add the luminance and chroma of a colour space to a batch that lacks them.

    They are computed from the batch's ``rgb`` where it lies (on the GPU, say).

    Args:
        batch: a batch with ``"rgb"`` ``(B, 3, H, W)`` in [0, 1].
        space: ``"lab"`` (adds ``L`` and ``ab``) or ``"yuv"`` (adds ``Y`` and ``uv``).

    Returns:
        A new dict with both keys added, or ``batch`` itself when it has them, has no ``rgb``, or
        ``space`` is neither.

    Example:
        >>> b = complete({"rgb": torch.ones(1, 3, 2, 2)}, "lab")
        >>> sorted(b), round(float(b["L"].max()), 3)
        (['L', 'ab', 'rgb'], 100.0)
    """
    keys = COLOUR_KEYS.get(space)
    if keys is None or keys[0] in batch or "rgb" not in batch:
        return batch
    from ..color import rgb_to_lab, rgb_to_yuv

    lum, chroma = (rgb_to_lab if space == "lab" else rgb_to_yuv)(batch["rgb"].float())
    return {**batch, keys[0]: lum, keys[1]: chroma}


def to_device(batch: Any, device: str | torch.device) -> Any:
    """Move every tensor in a (nested) batch to a device, with ``non_blocking=True``.

    Args:
        batch: a tensor, or dicts, lists and tuples of them; other values are kept as they are.
        device: the device.

    Returns:
        The batch, of the same structure, on ``device``.

    Example:
        >>> to_device({"rgb": torch.zeros(1), "image": [3]}, "cpu")
        {'rgb': tensor([0.]), 'image': [3]}
    """
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch
