"""One training loop for every method.

:func:`fit` runs ``loss_fn(model, batch)`` over a stream of batches with Adam, for a
number of steps or a wall-time budget, whichever ends first, and returns the loss
history as a :class:`pandas.DataFrame`. What it takes care of:

* the device: ``"auto"`` picks CUDA, then Apple's MPS, then the CPU; or force one;
* on CUDA, bf16 autocast and channels_last memory format;
* seeding, so a CPU run is repeatable;
* checkpoints (model, optimiser, step, config, RNG state, history) written atomically
  (a temporary file, then :func:`os.replace`) every ``checkpoint_every`` steps and at the
  end, loadable with ``torch.load(weights_only=True)``; a run pointed at an existing
  checkpoint resumes from it, and ends with the same weights as an uninterrupted run when
  the batch stream is a pure function of the step (see :class:`colorlab.data.StepBatchSampler`);
* a NaN or infinite loss stops the run with :class:`FloatingPointError` naming the step;
* a tqdm progress bar showing the loss.

Example:
    >>> model = torch.nn.Conv2d(1, 2, 3, padding=1)
    >>> def loss_fn(m, b):
    ...     return (m(b["x"]) - b["y"]).abs().mean()
    >>> def batches(start_step):
    ...     while True:
    ...         yield {"x": torch.ones(2, 1, 4, 4), "y": torch.zeros(2, 2, 4, 4)}
    >>> hist = fit(model, loss_fn, batches, TrainConfig(steps=5, progress=False))
    >>> len(hist)
    5
"""

from __future__ import annotations

import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import to_device
from .results import atomic_write

__all__ = ["TrainConfig", "pick_device", "seed_everything", "fit", "save_checkpoint", "load_checkpoint"]

Batch = Mapping[str, Any]
LossFn = Callable[[nn.Module, Batch], "Tensor | Mapping[str, Tensor]"]


@dataclass
class TrainConfig:
    """Settings of one training run. ``steps`` bounds the step count, ``seconds`` (if set) the
    wall time; ``checkpoint`` (a path) enables checkpointing and resumption."""

    steps: int = 100
    seconds: float | None = None
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    checkpoint: str | None = None
    checkpoint_every: int = 50
    resume: bool = True
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0; got {self.steps}")
        if self.seconds is not None and self.seconds <= 0:
            raise ValueError(f"seconds must be positive; got {self.seconds}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1; got {self.checkpoint_every}")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then MPS, then CPU; otherwise the named device, which must exist."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but CUDA is not available; use --device auto or cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for but MPS is not available; use --device auto or cpu")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _channels_last(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.ndim == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` with :func:`torch.save` atomically: a temporary file beside ``path``, then
    :func:`os.replace`, so a kill mid-write leaves the previous checkpoint intact."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`fit` with ``weights_only=True``."""
    return torch.load(path, map_location=map_location, weights_only=True)


def _loss_and_logs(out: Tensor | Mapping[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
    if isinstance(out, Tensor):
        return out, {}
    if "loss" not in out:
        raise KeyError("a loss_fn returning a dict must include the key 'loss'")
    logs = {k: float(v.detach()) for k, v in out.items() if k != "loss"}
    return out["loss"], logs


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Callable[[int], Iterable[Batch]],
    config: TrainConfig,
    optimizer: torch.optim.Optimizer | None = None,
) -> pd.DataFrame:
    """Train ``model`` and return the history ``DataFrame`` (``step, loss, seconds`` and any extra
    values ``loss_fn`` returns), with ``attrs`` holding ``device``, ``steps``, ``train_seconds``,
    ``resumed_from`` and ``stopped_by`` (``"steps"`` or ``"seconds"``).

    Args:
        model: the network; moved to the device (and channels_last on CUDA).
        loss_fn: ``loss_fn(model, batch) -> loss`` or a dict with ``"loss"`` and values to log.
            It runs under bf16 autocast on CUDA when ``config.amp``.
        batches: ``batches(start_step)`` returns an iterable of batch dicts starting at
            that step; resumption calls it with the checkpoint's step.
        config: see :class:`TrainConfig`.
        optimizer: defaults to Adam with ``config.lr``, ``betas`` and ``weight_decay``.
    """
    device = pick_device(config.device)
    cuda = device.type == "cuda"
    channels_last = cuda and config.channels_last
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if optimizer is None:
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
        )

    history: dict[str, list[float]] = {"step": [], "loss": [], "seconds": []}
    start_step, elapsed_before, resumed_from = 0, 0.0, None
    ckpt = Path(config.checkpoint) if config.checkpoint else None
    state = load_checkpoint(ckpt, map_location=device) if ckpt is not None and ckpt.exists() and config.resume else None
    if state is not None and (why := _incompatible(state, config)):
        warnings.warn(f"not resuming from {ckpt}: {why}; training from scratch and overwriting it", stacklevel=2)
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if cuda and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"].cpu())
        history = {k: list(v) for k, v in state["history"].items()}
        start_step = resumed_from = int(state["step"])
        elapsed_before = float(state.get("train_seconds", 0.0))
    else:
        seed_everything(config.seed)

    def snapshot(step: int, seconds: float) -> None:
        if ckpt is None:
            return
        save_checkpoint(
            ckpt,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "train_seconds": seconds,
                "config": _plain(asdict(config)),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if cuda else None,
                "history": history,
            },
        )

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if (cuda and config.amp) else nullcontext()
    t0 = time.perf_counter()
    step, stopped_by = start_step, "steps"
    model.train()
    bar = tqdm(total=config.steps, initial=start_step, desc="train", disable=not config.progress, leave=False)
    it: Iterator[Batch] = iter(batches(start_step))
    try:
        while step < config.steps:
            if config.seconds is not None and elapsed_before + time.perf_counter() - t0 >= config.seconds:
                stopped_by = "seconds"
                break
            batch = to_device(next(it), device)
            if channels_last:
                batch = _channels_last(batch)
            with autocast:
                loss, logs = _loss_and_logs(loss_fn(model, batch))
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"loss is {value} at step {step + 1}; the last good checkpoint is "
                    f"{ckpt if ckpt else '(none: no checkpoint path was set)'}"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            seconds = elapsed_before + time.perf_counter() - t0
            history["step"].append(step)
            history["loss"].append(value)
            history["seconds"].append(seconds)
            for k, v in logs.items():
                history.setdefault(k, [math.nan] * (len(history["step"]) - 1)).append(v)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}")
            if step % config.checkpoint_every == 0:
                snapshot(step, seconds)
    finally:
        bar.close()
    total = elapsed_before + time.perf_counter() - t0
    if step > start_step or resumed_from is None:
        snapshot(step, total)
    model.eval()
    df = pd.DataFrame(history)
    df.attrs.update(
        device=str(device),
        steps=step,
        train_seconds=total,
        resumed_from=resumed_from,
        stopped_by=stopped_by,
    )
    return df


#: Settings that may change between a run and its resumption (how long, where, how shown). A
#: change of device resumes too (a run moved to another machine), though not bit for bit.
_RESUMABLE_CHANGES = ("steps", "seconds", "device", "checkpoint", "checkpoint_every", "resume", "progress")


def _incompatible(state: dict[str, Any], config: TrainConfig) -> str:
    """Why a checkpoint cannot continue this run ("" when it can)."""
    saved = state.get("config", {})
    now = _plain(asdict(config))
    diff = sorted(k for k in now if k not in _RESUMABLE_CHANGES and saved.get(k) != now[k])
    if diff:
        return "its settings differ in " + ", ".join(diff)
    if int(state["step"]) > config.steps:
        return f"it is at step {state['step']}, beyond the {config.steps} steps asked for"
    return ""


def _plain(x: Any) -> Any:
    """Config values as types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)
