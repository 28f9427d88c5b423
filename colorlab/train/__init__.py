"""One training loop for every method.

:func:`fit` runs a method's own :meth:`~colorlab.methods.base.Method.train_step` over a stream of
batches for a number of steps or a wall-time budget, writes checkpoints it can resume from exactly,
and returns the loss history. The random numbers of a run are seeded here only. docs/performance.md
says what it does on CUDA and under ``torchrun``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .. import distributed, methods, progress
from ..data import complete, to_device
from ..device import pick_device
from ..methods import Method
from .config import RANK_STREAMS, SYNC_EVERY_ASYNC, TrainConfig, step_mode
from .resume import Saver, restore_rng, resume

__all__ = ["TrainConfig", "fit", "step_mode", "seed_everything", "new_method", "channels_last_batch",
           "compile_networks"]

Batch = Mapping[str, Any]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices).

    Args:
        seed: the seed (NumPy gets it modulo 2³²).

    Example:
        >>> seed_everything(0); a = torch.rand(1); seed_everything(0); bool(torch.rand(1) == a)
        True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def new_method(name: str, variant: str | None, args: Mapping[str, Any], seed: int) -> Method:
    """Build a method, its initial weights drawn from ``seed``.

    Args:
        name: the method's registered name.
        variant: its variant (``None``: its first).
        args: its arguments.
        seed: seeds every generator first (:func:`seed_everything`).

    Returns:
        The method.

    Example:
        >>> a, b = (new_method("yuv_regression", "l2", {"base": 4}, seed=3) for _ in range(2))
        >>> all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
        True
    """
    seed_everything(seed)
    return methods.get(name)(variant, **args)


def channels_last_batch(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch with its 4-d floating-point tensors in the channels_last memory format, the rest as they were."""
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.ndim == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


def compile_networks(method: Method) -> None:
    """Compile each network of a method in place (:func:`torch.compile`).

    Args:
        method: the method; each direct child module with parameters is compiled.
    """
    for _, child in method.named_children():
        if any(True for _ in child.parameters()):
            child.compile()


class _Log:
    """The values every step logs: kept on the device, read together every :attr:`every` steps,
    checked for NaN and infinity, appended to the history in step order, shown on the progress bar."""

    def __init__(self, state: Mapping[str, Any] | None, config: TrainConfig, device: torch.device, writer: bool,
                 last_saved: Callable[[], str]) -> None:
        fresh = {"step": [], "loss": [], "seconds": []}
        self.history: dict[str, list[float]] = {k: list(v) for k, v in state["history"].items()} if state else fresh
        self.start_step = int(state["step"]) if state is not None else 0
        self.elapsed_before = float(state.get("train_seconds", 0.0)) if state is not None else 0.0
        self.every = config.sync_every or (1 if device.type == "cpu" else SYNC_EVERY_ASYNC)
        self.device, self.total, self.writer, self.last_saved = device, config.steps, writer, last_saved
        self.dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.pending: list[tuple[int, float, Tensor]] = []  # (step, seconds, logged values on the device)
        self.names: list[str] = []
        self.bar = progress.bar(config.steps, desc="train", initial=self.start_step,
                                disable=not config.progress or not writer)

    def add(self, step: int, seconds: float, logs: Mapping[str, Any]) -> None:
        if set(logs) != set(self.names):  # the first step, or a step that logs other values
            self.flush()
            self.names[:] = ["loss", *(k for k in logs if k != "loss")]  # in the order the method logs them
        row = torch.stack([logs[k].detach().to(self.device, self.dtype).reshape(()) if isinstance(logs[k], Tensor)
                           else torch.tensor(float(logs[k]), device=self.device, dtype=self.dtype) for k in self.names])
        self.pending.append((step, seconds, distributed.average(row)))

    def due(self) -> bool:
        return len(self.pending) >= self.every

    def flush(self) -> None:
        """Read the pending steps' values (one copy to the host), check them, record them."""
        if not self.pending:
            return
        values = torch.stack([v for _, _, v in self.pending]).tolist()
        for (at, seconds, _), row in zip(self.pending, values, strict=True):
            logs = dict(zip(self.names, row, strict=True))
            value = logs.pop("loss")
            bad = next((f"{k} is {v}" for k, v in {"loss": value, **logs}.items() if not math.isfinite(v)), None)
            if bad:
                raise FloatingPointError(f"{bad} at step {at}; {self.last_saved()}")
            self._record(at, seconds, value, logs)
        self.pending.clear()

    def _record(self, step: int, seconds: float, loss: float, logs: Mapping[str, float]) -> None:
        h = self.history
        h["step"].append(step)
        h["loss"].append(loss)
        h["seconds"].append(seconds)
        for k, v in logs.items():
            h.setdefault(k, [math.nan] * (len(h["step"]) - 1)).append(v)
        for v in h.values():  # a value logged at some steps only is NaN at the others
            if len(v) < len(h["step"]):
                v.append(math.nan)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}")
        if self.writer:
            progress.step(step, self.total, loss=loss)


def _start_random_streams(state: Mapping[str, Any] | None, config: TrainConfig, device: torch.device, method: Method,
                          rank: int, world: int) -> None:
    """The checkpoint's random state when resuming; else every generator seeded, each process a
    stream of its own (dropout), and every process starting from rank 0's weights, as DDP does."""
    if state is not None:
        restore_rng(state, device.type == "cuda", rank, world)
        return
    seed_everything(config.seed)
    if rank:
        torch.manual_seed(config.seed * RANK_STREAMS + rank)
    distributed.broadcast_module(method)


def _out_of_time(config: TrainConfig, elapsed: float, world: int) -> bool:
    """Whether the wall-time budget is spent; rank 0's clock decides for every process."""
    if config.seconds is None:
        return False
    late = elapsed >= config.seconds
    return bool(distributed.broadcast_object(late)) if world > 1 else late


def fit(method: Method, batches: Callable[[int], Iterable[Batch]], config: TrainConfig) -> pd.DataFrame:
    """Train ``method`` and return its history; the method ends in eval mode.

    A run pointed at a checkpoint of the same settings resumes from it (a finished one is reused
    without training) and ends with the same weights as an uninterrupted run when the batch stream
    is a pure function of the step (:class:`colorlab.data.StepBatchSampler`). A checkpoint that
    cannot be read (``*.corrupt``) or holds other settings (``*.replaced``) is moved aside with a
    warning; a foreign or newer-format file raises. A NaN or infinite logged value raises
    :class:`FloatingPointError` naming it, the step and the last checkpoint.

    Args:
        method: the method; moved to the device. Call its
            :meth:`~colorlab.methods.base.Method.prepare` first when it needs the training data.
        batches: ``batches(start_step)`` returns an iterable of batch dicts starting at that step;
            resumption calls it with the checkpoint's step. Under ``torchrun`` each process's
            iterable gives its own share of every step's batch (:func:`colorlab.data.make_loader` does).
        config: see :class:`TrainConfig`.

    Returns:
        The history ``DataFrame`` (``step, loss, seconds`` and the other values the steps log), its
        ``attrs`` holding ``device``, ``steps``, ``train_seconds``, ``resumed_from``, ``stopped_by``
        (``"steps"`` or ``"seconds"``) and ``processes``.

    Raises:
        FloatingPointError: a logged value is NaN or infinite.
        CheckpointError: the checkpoint path holds a foreign or newer-format file.
        FileExistsError: the checkpoint exists and ``config.resume`` is false.

    Example:
        >>> from colorlab.methods import build
        >>> m = build("yuv_regression", base=4)
        >>> def batches(start_step):
        ...     while True:
        ...         yield {"Y": torch.rand(2, 1, 16, 16), "uv": torch.zeros(2, 2, 16, 16)}
        >>> hist = fit(m, batches, TrainConfig(steps=3, progress=False))
        >>> len(hist), hist.attrs["stopped_by"], m.training
        (3, 'steps', False)
    """
    device = pick_device(config.device)
    rank, world = distributed.setup(device)
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)
    mode = step_mode(config, device)
    channels_last = device.type == "cuda" and config.channels_last
    method.to(device)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    path = Path(config.checkpoint) if config.checkpoint else None

    optimizers, state = resume(path, method, mode, config, device, rank)
    _start_random_streams(state, config, device, method, rank, world)
    method.check_trainable()
    if config.compile:
        compile_networks(method)
    saver = Saver(path, method, optimizers, config, device, world, rank == 0,
                   int(state["step"]) if state is not None else None)
    log = _Log(state, config, device, rank == 0, saver.last)

    t0 = time.perf_counter()

    def elapsed() -> float:
        return log.elapsed_before + time.perf_counter() - t0

    step, stopped_by = log.start_step, "steps"
    method.train()
    stream: Iterator[Batch] = iter(batches(log.start_step))
    try:
        while step < config.steps:
            if (world == 1 or (step - log.start_step) % log.every == 0) and _out_of_time(config, elapsed(), world):
                stopped_by = "seconds"
                break
            batch = complete(to_device(next(stream), device), method.space)  # colour converted here for RGB items
            if channels_last:
                batch = channels_last_batch(batch)
            logs = method.train_step(batch, optimizers, step, mode)
            step += 1
            log.add(step, elapsed(), logs)
            if step % config.checkpoint_every == 0 or log.due() or step == config.steps:
                log.flush()
            if step % config.checkpoint_every == 0:
                saver.save(step, elapsed(), log.history)
        log.flush()
    finally:
        log.bar.close()
    total = elapsed()
    if step > log.start_step or state is None:
        saver.save(step, total, log.history)
    method.eval()
    df = pd.DataFrame(log.history)
    df.attrs.update(device=str(device), steps=step, train_seconds=total,
                    resumed_from=log.start_step if state is not None else None, stopped_by=stopped_by,
                    processes=world)
    return df
