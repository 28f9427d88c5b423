"""One training loop for every method.

:func:`fit` calls a method's :meth:`~colorlab.methods.base.Method.train_step` (which owns its
optimisers: one for a regression, two alternating for a GAN) over a stream of batches, for a
number of steps or a wall-time budget, whichever ends first, and returns the loss history as a
:class:`pandas.DataFrame`. What it takes care of:

* the device: ``"auto"`` picks CUDA, then Apple's MPS, then the CPU; or force one;
* on CUDA, bf16 autocast (the method's :meth:`~colorlab.methods.base.Method.autocast`) and
  channels_last memory format;
* seeding, so a CPU run is repeatable;
* checkpoints (:mod:`colorlab.checkpoint`: the method's name, variant and arguments, its
  weights, every optimiser, step, settings, RNG state, history and data) written atomically
  every ``checkpoint_every`` steps and at the end; a run pointed at an existing checkpoint of
  the same settings resumes from it (a finished one is reused without training), and ends with
  the same weights as an uninterrupted run when the batch stream is a pure function of the step
  (:class:`colorlab.data.StepBatchSampler`); a checkpoint that cannot be read is named in a
  warning, moved aside (``*.corrupt``) and the run starts afresh;
* a NaN or infinite loss stops the run with :class:`FloatingPointError` naming the step;
* a tqdm progress bar showing the loss.

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

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from . import checkpoint
from .data import to_device
from .device import pick_device, seed_everything
from .files import plain
from .methods import Method

__all__ = ["TrainConfig", "fit"]

Batch = Mapping[str, Any]


@dataclass
class TrainConfig:
    """Settings of one training run. ``steps`` bounds the step count, ``seconds`` (if set) the
    wall time; ``checkpoint`` (a path) enables checkpointing and resumption; ``extra`` describes
    the run beyond the method (batch size, data) and must match for a checkpoint to be resumed."""

    steps: int = 100
    seconds: float | None = None
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
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be an integer >= 0; got {self.steps!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive; got {self.seconds}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1; got {self.checkpoint_every}")


def _channels_last(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.ndim == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


#: Settings that may change between a run and its resumption (how long, where, how shown). A
#: change of device resumes too (a run moved to another machine), though not bit for bit.
_RESUMABLE_CHANGES = ("steps", "seconds", "device", "checkpoint", "checkpoint_every", "resume", "progress")


def _incompatible(state: Mapping[str, Any], method: Method, config: TrainConfig) -> str:
    """Why a checkpoint cannot continue this run ("" when it can)."""
    if state["method"] != method.name or state["variant"] != method.variant:
        return f"it holds {state['method']}/{state['variant']}, not {method.name}/{method.variant}"
    saved, now = state.get("args", {}), plain(method.args)
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    saved_run, run = state.get("run", {}), plain(asdict(config))
    diff += sorted(k for k in run if k not in _RESUMABLE_CHANGES and saved_run.get(k) != run[k])
    if diff:
        return "its settings differ in " + ", ".join(diff)
    if int(state["step"]) > config.steps:
        return f"it is at step {state['step']}, beyond the {config.steps} steps asked for"
    return ""


def _resumable(path: Path | None, method: Method, config: TrainConfig, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint to resume from, or ``None`` (no file, resumption off, unreadable, other settings)."""
    if path is None or not config.resume or not path.exists():
        return None
    try:
        state = checkpoint.read(path, map_location=device)
    except checkpoint.CheckpointError as e:
        aside = path.with_name(path.name + ".corrupt")
        n = 1
        while aside.exists():
            aside, n = path.with_name(f"{path.name}.corrupt{n}"), n + 1
        path.replace(aside)
        warnings.warn(f"{e}; moved it to {aside.name} and training from scratch", stacklevel=3)
        return None
    if why := _incompatible(state, method, config):
        warnings.warn(f"not resuming from {path}: {why}; training from scratch and overwriting it", stacklevel=3)
        return None
    return state


def fit(method: Method, batches: Callable[[int], Iterable[Batch]], config: TrainConfig) -> pd.DataFrame:
    """Train ``method`` and return the history ``DataFrame`` (``step, loss, seconds`` and the other
    values its ``train_step`` returns), with ``attrs`` holding ``device``, ``steps``,
    ``train_seconds``, ``resumed_from`` and ``stopped_by`` (``"steps"`` or ``"seconds"``). The
    method ends in eval mode.

    Args:
        method: the method; moved to the device (and channels_last on CUDA). Call its
            :meth:`~colorlab.methods.base.Method.prepare` first when it needs the training data.
        batches: ``batches(start_step)`` returns an iterable of batch dicts starting at that step;
            resumption calls it with the checkpoint's step.
        config: see :class:`TrainConfig`.
    """
    device = pick_device(config.device)
    cuda = device.type == "cuda"
    channels_last = cuda and config.channels_last
    method.to(device)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    method.amp = cuda and config.amp
    optimizers = method.configure_optimizers()

    history: dict[str, list[float]] = {"step": [], "loss": [], "seconds": []}
    start_step, elapsed_before, resumed_from = 0, 0.0, None
    ckpt = Path(config.checkpoint) if config.checkpoint else None
    state = _resumable(ckpt, method, config, device)
    if state is not None:
        method.load_state_dict(state["state_dict"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        torch.set_rng_state(state["rng"]["cpu"].cpu())
        if cuda and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu())
        history = {k: list(v) for k, v in state["history"].items()}
        start_step = resumed_from = int(state["step"])
        elapsed_before = float(state.get("train_seconds", 0.0))
    else:
        seed_everything(config.seed)
    method.check_trainable()

    def snapshot(step: int, seconds: float) -> None:
        if ckpt is None:
            return
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None}
        checkpoint.save(ckpt, method, optimizers=optimizers, step=step, train_seconds=seconds, run=asdict(config),
                        rng=rng, history=history, data=config.extra.get("data"))

    t0 = time.perf_counter()
    step, stopped_by = start_step, "steps"
    method.train()
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
            logs = {k: float(v) for k, v in method.train_step(batch, optimizers, step).items()}
            value = logs.pop("loss")
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"loss is {value} at step {step + 1}; the last good checkpoint is "
                    f"{ckpt if ckpt else '(none: no checkpoint path was set)'}"
                )
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
    method.eval()
    df = pd.DataFrame(history)
    df.attrs.update(device=str(device), steps=step, train_seconds=total, resumed_from=resumed_from, stopped_by=stopped_by)
    return df
