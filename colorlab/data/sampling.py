"""Reproducible batching: step-indexed training batches that resume exactly, DataLoaders over
a :class:`~colorlab.data.datasets.ColorDataset`, and moving batches to a device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from .datasets import ColorDataset

__all__ = ["StepBatchSampler", "make_loader", "to_device"]


def _mix(*xs: int) -> int:
    """A 62-bit hash of integers (splitmix64 chain), stable across runs and platforms."""
    z = 0x9E3779B97F4A7C15
    for x in xs:
        z = (z ^ (x & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
    return z >> 2


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Infinite batches of ``(index, aug_seed)`` keys; the batch of step ``s`` is a pure function
    of ``(seed, s)``, so starting at ``start_step=k`` resumes a run exactly at step ``k``.

    Items are drawn without replacement through a fresh permutation per epoch (epoch ``e``
    permutes with seed ``mix(seed, e)``); batches run on across epoch ends.

    Example:
        >>> a = StepBatchSampler(10, 4, seed=0)
        >>> b = StepBatchSampler(10, 4, seed=0, start_step=3)
        >>> it = iter(a); _ = [next(it) for _ in range(3)]
        >>> next(it) == next(iter(b))
        True
    """

    def __init__(self, n_items: int, batch_size: int, seed: int = 0, start_step: int = 0) -> None:
        if n_items < 1 or batch_size < 1 or start_step < 0:
            raise ValueError(f"need n_items, batch_size >= 1 and start_step >= 0; got "
                             f"{n_items}, {batch_size}, {start_step}")
        self.n_items, self.batch_size, self.seed, self.start_step = n_items, batch_size, seed, start_step
        self._perm: tuple[int, list[int]] = (-1, [])

    def _order(self, epoch: int) -> list[int]:
        if self._perm[0] != epoch:
            g = torch.Generator().manual_seed(_mix(self.seed, epoch))
            self._perm = (epoch, torch.randperm(self.n_items, generator=g).tolist())
        return self._perm[1]

    def batch(self, step: int) -> list[tuple[int, int]]:
        """The keys of step ``step`` (0-based)."""
        out = []
        for pos in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, k = divmod(pos, self.n_items)
            out.append((self._order(epoch)[k], _mix(self.seed, 1, step, pos)))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield self.batch(step)
            step += 1


def make_loader(dataset: ColorDataset, batch_size: int, *, train: bool, seed: int | None = None,
                start_step: int = 0, num_workers: int | None = None,
                device: str | torch.device | None = None) -> DataLoader:
    """A DataLoader: infinite :class:`StepBatchSampler` batches for ``train`` (``seed``
    defaults to ``dataset.seed``), else one sequential pass. ``num_workers`` defaults to 0 for
    in-memory images, else ``min(4, cpus - 1)``; memory is pinned only for a CUDA ``device``
    (``None``: when CUDA is available).

    Example:
        >>> from colorlab.data import load_dataset
        >>> batch = next(iter(make_loader(load_dataset(), 8, train=True)))
        >>> batch["rgb"].shape
        torch.Size([8, 3, 64, 64])
    """
    if num_workers is None:
        num_workers = 0 if dataset.images.in_memory else min(4, max(1, (os.cpu_count() or 1) - 1))
    cuda = torch.device(device).type == "cuda" if device is not None else torch.cuda.is_available()
    kw: dict[str, Any] = dict(num_workers=num_workers, pin_memory=cuda and torch.cuda.is_available(),
                              persistent_workers=num_workers > 0)
    if train:
        sampler = StepBatchSampler(len(dataset), batch_size, dataset.seed if seed is None else seed, start_step)
        return DataLoader(dataset, batch_sampler=sampler, **kw)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, **kw)


def to_device(batch: Any, device: str | torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device`` with ``non_blocking=True``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch
